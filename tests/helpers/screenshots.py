"""`make screenshots`: the README's pictures and one per step of docs/demo.md, as SVG in
docs/screenshots/, drawn by Textual from the demo registry at 80x24.

The README's three are the snapshot tests' scenes, drawn the way pytest-textual-snapshot draws
them, so tests/functional/test_screenshots.py can hold them to the snapshots; the demo's are drawn while
replaying docs/demo.md, as its walkthrough test does.

    .venv/bin/python -m tests.helpers.screenshots
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
SNAPSHOTS = ROOT / "tests" / "functional" / "__snapshots__" / "test_tui_snapshots"
README_SHOTS = {"main-screen": "main_screen", "confirmation": "confirmation", "refusal": "refusal"}


def readme_shot(scene: str, tmp: Path) -> str:
    from pytest_textual_snapshot import normalize_svg
    from textual._doc import take_svg_screenshot

    from tests.functional.test_tui_snapshots import SCENES, SIZE, run_before
    from .tui_pilot import demo_app

    app, _ = demo_app(tmp)
    return normalize_svg(take_svg_screenshot(app=app, terminal_size=SIZE, run_before=run_before(*SCENES[scene])))


async def demo_shots(tmp: Path) -> dict[str, str]:
    """`demo-NN.svg` -> the screen at the end of step NN of docs/demo.md."""
    from pytest_textual_snapshot import normalize_svg

    from tests.functional.test_tui_walkthrough import DOC, parse
    from .tui_pilot import demo_app, press, settle, type_text

    app, _ = demo_app(tmp)
    shots: dict[str, str] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for number, step in enumerate(parse(DOC.read_text()), 1):
            for check in step.checks:
                for key in check.keys:
                    if key.startswith("type:"):
                        await type_text(pilot, key.removeprefix("type:"))
                    else:
                        await press(pilot, key)
                if check.present:  # the screen the step describes, before a closing Esc
                    shots[f"demo-{number:02d}.svg"] = normalize_svg(app.export_screenshot(title=f"ocitree demo, step {number}"))
    return shots


def all_shots() -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        shots = {}
        for name, scene in README_SHOTS.items():
            (Path(tmp) / name).mkdir()
            shots[f"{name}.svg"] = readme_shot(scene, Path(tmp) / name)
        demo_dir = Path(tmp) / "demo"
        demo_dir.mkdir()
        shots.update(asyncio.run(demo_shots(demo_dir)))
    return shots


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    shots = all_shots()
    for old in OUT.glob("*.svg"):
        if old.name not in shots:
            old.unlink()
    for name, svg in shots.items():
        (OUT / name).write_text(svg)
    print(f"{len(shots)} screenshots in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
