"""The pictures in the README and docs/demo.md are what the app draws now (`make screenshots`)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from tests.helpers.screenshots import OUT, README_SHOTS, ROOT, SNAPSHOTS, demo_shots

STALE = "docs/screenshots/{} is older than what the app draws: run `make screenshots` (after updating the snapshots)"


def test_the_readme_pictures_are_the_snapshot_tests_screens():
    # test_tui_snapshots holds its snapshots to the app's rendering; these must equal them.
    for name, scene in README_SHOTS.items():
        picture = OUT / f"{name}.svg"
        assert picture.exists(), STALE.format(picture.name)
        assert picture.read_text() == (SNAPSHOTS / f"test_{scene}.svg").read_text(), STALE.format(picture.name)
        assert f"docs/screenshots/{name}.svg" in (ROOT / "README.md").read_text()


def test_the_demo_pictures_are_what_each_step_shows_now(tmp_path):
    shots = asyncio.run(demo_shots(tmp_path))
    demo = (ROOT / "docs" / "demo.md").read_text()
    for name, svg in shots.items():
        picture = OUT / name
        assert picture.exists() and picture.read_text() == svg, STALE.format(name)
        assert f"screenshots/{name}" in demo, f"docs/demo.md does not show {name}"
    shown = set(re.findall(r"screenshots/(demo-\d+\.svg)", demo))
    assert shown == {n for n in shots if n.startswith("demo-")}, "docs/demo.md shows a picture no step draws"
    assert not [p.name for p in OUT.glob("demo-*.svg") if p.name not in shots], "a picture of no step: run make screenshots"
