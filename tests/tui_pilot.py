"""Helpers for the TUI's pilot, walkthrough and snapshot tests."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from rich.console import Console

from ocitree.core.model import Registry
from ocitree.core.stores.base import DeletionSession, Store
from ocitree.core.stores.sample import SampleStore
from ocitree.sample_data import DEMO_PATH
from ocitree.tui.app import OcitreeApp


def demo_copy(tmp_path: Path) -> Path:
    path = tmp_path / "demo.json"
    shutil.copyfile(DEMO_PATH, path)
    return path


def demo_app(tmp_path: Path, **options) -> tuple[OcitreeApp, Path]:
    path = demo_copy(tmp_path)
    store = SampleStore(path)
    store.source = "demo.json"  # the header shows the source: keep screens identical across runs
    return OcitreeApp(store, **options), path


async def settle(pilot) -> None:
    """Wait until loading, previews and deletions in workers are done and painted."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def until(pilot, condition, attempts: int = 100) -> None:
    """Wait for something the app does in its own time (the command palette searches in a task)."""
    for _ in range(attempts):
        if condition():
            return
        await pilot.pause(0.05)
    assert condition(), "the app never got there"


async def type_text(pilot, text: str) -> None:
    await pilot.press(*text)
    await settle(pilot)


def screen_text(app: OcitreeApp) -> str:
    """What a person sees: every line of the screen (modal dialogs over the dimmed app)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, color_system=None, record=True)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def stored(path: Path) -> dict[str, dict[str, list[str]]]:
    """repository -> digest -> tags, as the sample file holds them now."""
    doc = json.loads(path.read_text())
    return {repo: {e["digest"]: e.get("tags", []) for e in entries} for repo, entries in doc["repositories"].items()}


def digest_of(path: Path, repository: str, tag: str) -> str:
    for digest, tags in stored(path)[repository].items():
        if tag in tags:
            return digest
    raise KeyError(f"{repository}:{tag}")


def children_of(path: Path, repository: str, digest: str) -> list[str]:
    doc = json.loads(path.read_text())
    entry = next(e for e in doc["repositories"][repository] if e["digest"] == digest)
    return [c["digest"] for c in entry.get("manifests", [])]


class MemoryStore(Store):
    """A store holding a ready-made Registry (for data no file format would accept)."""

    def __init__(self, registry: Registry, source: str = "memory") -> None:
        self.registry = registry
        self.source = source

    def load(self, progress=None) -> Registry:
        return self.registry

    def session(self, repositories: set[str]) -> DeletionSession:
        raise NotImplementedError
