"""Shared fixtures. Tests never touch the user's real config, data, state or cache."""

from __future__ import annotations

import importlib

import pytest

from ocitree.sample_data.builder import RegistryBuilder

pytest_plugins = ["tests.helpers.registry_server"]

SOURCE_KINDS = ["sample", "layout", "registry"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Point every XDG directory and HOME at a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in [("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state"), ("XDG_CACHE_HOME", "cache")]:
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("OCITREE_CONFIG", raising=False)
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    # Registry credentials: docker and podman also read these; a real login must not leak into tests.
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return home


@pytest.fixture(params=SOURCE_KINDS)
def make_source(request, tmp_path):
    """A function that turns a RegistryBuilder into a SOURCE string of one kind.

    Each kind lives in tests/helpers/sources/<kind>_source.py as `make_source(builder, tmp_path, request) -> str`."""
    module = importlib.import_module(f"tests.helpers.sources.{request.param}_source")

    def make(builder: RegistryBuilder) -> str:
        return module.make_source(builder, tmp_path, request)

    make.kind = request.param
    return make


@pytest.fixture(autouse=True)
def recorded_notifications(monkeypatch):
    """Keep every toast's message on `app.notified`: toasts expire after seconds, and tests
    on a loaded machine take longer than that between the toast and the assertion."""
    try:
        from ocitree.tui.app import OcitreeApp
    except ImportError:  # the TUI's dependencies are not installed: nothing to record
        return
    notify = OcitreeApp.notify

    def recording(self, message, *args, **kwargs):
        self.__dict__.setdefault("notified", []).append(message)
        return notify(self, message, *args, **kwargs)

    monkeypatch.setattr(OcitreeApp, "notify", recording)
