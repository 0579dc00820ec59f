"""The blocklist collector: loads the blocklist feeds into its database and reports what it holds."""
