"""Fixtures that start Debian's docker-registry (CNCF distribution) on a free loopback port.

(Filled in by the live-registry work.)"""
