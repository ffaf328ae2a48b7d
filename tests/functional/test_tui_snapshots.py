"""SVG snapshots of the main screen, the confirmation and the refusal (80x24, demo data).

Update them after an intended change with `pytest tests/functional/test_tui_snapshots.py --snapshot-update`,
look at the SVGs before committing, then run `make screenshots` (the README shows these three;
tests/functional/test_screenshots.py fails while they differ)."""

from __future__ import annotations

from .test_tui_flows import go_to
from tests.helpers.tui_pilot import demo_app, press, settle

SIZE = (80, 24)

# The scenes, as steps: "/TEXT" finds TEXT, anything else is a key.
SCENES = {
    # The index of 10 expanded, the cursor on its shared child, the other parent expanded too.
    "main_screen": ("/v2.4-slim", "enter", "/v2.4", "enter", "down", "escape"),
    "confirmation": ("/v2.4", "escape", "d"),
    "refusal": ("/v2.4", "enter", "down", "escape", "d"),
}


def run_before(*steps):
    async def run(pilot) -> None:
        await settle(pilot)
        for step in steps:
            if step.startswith("/"):
                await go_to(pilot, step[1:])
            else:
                await press(pilot, step)
        await settle(pilot)

    return run


def test_main_screen(snap_compare, tmp_path):
    app, _ = demo_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before(*SCENES["main_screen"]))


def test_confirmation(snap_compare, tmp_path):
    app, _ = demo_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before(*SCENES["confirmation"]))


def test_refusal(snap_compare, tmp_path):
    app, _ = demo_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before(*SCENES["refusal"]))
