"""Kubernetes manifests: render, validate against the schema offline, check policies, report."""
