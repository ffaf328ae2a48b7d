"""Tests through real components: docker-registry, skopeo, subprocesses, the Textual app."""
