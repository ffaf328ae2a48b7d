"""Tests of one unit each: no servers, no subprocesses, no Textual app (tests/unit/conftest.py enforces it)."""
