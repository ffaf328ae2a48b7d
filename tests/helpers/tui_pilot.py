"""Helpers for the TUI's pilot, walkthrough and snapshot tests."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

from rich.cells import cell_len
from textual.app import App
from textual.geometry import Region
from textual.strip import Strip

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


# One piece of text in App.export_screenshot()'s SVG (rich's Console.export_svg): its place
# in cells is x / (textLength / len(text)), its line the number in its clip path.
SVG_TEXT = re.compile(r'<text [^>]*?x="([0-9.]+)" [^>]*?textLength="([0-9.]+)" clip-path="url\(#[^)]*-line-(\d+)\)">(.*?)</text>')


def screen_text(app: App) -> str:
    """What a person sees: every line of the screen (modal dialogs over the dimmed app), read
    from the screenshot Textual exports."""
    width, height = app.size
    pieces: dict[int, list[tuple[int, str]]] = {}
    for x, length, line, content in SVG_TEXT.findall(app.export_screenshot()):
        text = html.unescape(content).replace("\xa0", " ")
        column = round(float(x) / (float(length) / len(text)))
        pieces.setdefault(int(line), []).append((column, text))
    lines = []
    for y in range(height):
        line = ""
        for column, text in sorted(pieces.get(y, [])):
            line += " " * (column - cell_len(line)) + text
        lines.append(line.rstrip())
    return "\n".join(lines)


def visible_strips(app: App) -> list[Strip]:
    """Every line each shown widget of the screen draws, as Textual hands it to the terminal."""
    strips: list[Strip] = []
    for widget in [app.screen, *app.screen.query("*")]:
        if widget.display and widget.region:
            strips += widget.render_lines(Region(0, 0, widget.outer_size.width, widget.outer_size.height))
    return strips


def stored(path: Path) -> dict[str, dict[str, list[str]]]:
    """repository -> digest -> tags, as the sample file holds them now."""
    doc = json.loads(path.read_text())
    return {repo: {e["digest"]: e.get("tags", []) for e in entries} for repo, entries in doc["repositories"].items()}


def artifact_count(path: Path) -> int:
    """Artifacts in the sample file now: the header's count (the demo's total is not fixed)."""
    return sum(len(entries) for entries in stored(path).values())


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
