"""Unit tests start nothing: no process, no server, no network, no Textual app.

A test that needs one of those belongs in tests/functional/; this guard says so instead of
letting the split drift."""

from __future__ import annotations

import socket
import subprocess

import pytest


def _refuse(what: str):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a unit test {what}: move it to tests/functional/")

    return refuse


@pytest.fixture(autouse=True)
def starts_nothing(monkeypatch):
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("started a process"))
    monkeypatch.setattr(socket.socket, "bind", _refuse("opened a server socket"))
    monkeypatch.setattr(socket.socket, "connect", _refuse("opened a network connection"))
    try:
        from textual.app import App
    except ImportError:
        return
    monkeypatch.setattr(App, "run_test", _refuse("ran the Textual app"))
    monkeypatch.setattr(App, "run", _refuse("ran the Textual app"))
