"""Stores: where a registry's state comes from and where deletions go."""
