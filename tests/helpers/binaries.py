"""Tests that need an external program: skip locally with the command that installs it, fail in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def require_binary(name: str, apt_package: str) -> str:
    """The path of `name`; if it is missing, skip (or fail when CI=true, where a skip would hide a gap)."""
    path = shutil.which(name)
    if path:
        return path
    reason = f"{name} is not installed: apt-get install -y {apt_package}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: tests needing it must run)")
    pytest.skip(reason)
