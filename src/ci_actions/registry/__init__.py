"""The OCI distribution API: a client and the promotion of a manifest to new tags."""
