"""Benchmarks (run by hand or with `make bench`; speed is measured here, never by timed tests)."""
