"""SVG snapshots of the main screen, the confirmation and the refusal (80x24, demo data).

Update them after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`,
and look at the SVGs before committing."""

from __future__ import annotations

from .test_tui_flows import go_to
from .tui_pilot import demo_app, press, settle

SIZE = (80, 24)


def _run_before(*steps):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for step in steps:
            if step.startswith("/"):
                await go_to(pilot, step[1:])
            else:
                await press(pilot, step)
        await settle(pilot)

    return run_before


def test_main_screen(snap_compare, tmp_path):
    app, _ = demo_app(tmp_path)
    # The index of 10 expanded, the cursor on its shared child, the other parent expanded too.
    steps = _run_before("/v2.4-slim", "enter", "/v2.4", "enter", "down", "escape")
    assert snap_compare(app, terminal_size=SIZE, run_before=steps)


def test_confirmation(snap_compare, tmp_path):
    app, _ = demo_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=_run_before("/v2.4", "escape", "d"))


def test_refusal(snap_compare, tmp_path):
    app, _ = demo_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=_run_before("/v2.4", "enter", "down", "escape", "d"))
