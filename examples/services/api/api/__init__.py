"""blocklist: collects blocked IP addresses into SQLite and serves statistics."""
