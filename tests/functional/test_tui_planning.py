"""d plans on a worker thread: while a plan is worked out the app answers keys, says what it is
planning, starts no second plan, and shows the plan (confirmation or refusal) once it is ready,
never one of a registry that changed meanwhile.

The planner is held on a gate the test opens, so "before the plan is ready" is a state the test
controls, not a race: with the plan worked out on the UI thread, pressing d would block the app
until the gate gave up, and none of this would hold."""

from __future__ import annotations

import threading

import pytest

import ocitree.core.planner
import ocitree.core.prune
from ocitree.core.stores.sample import SampleStore
from ocitree.tui.app import OcitreeApp
from ocitree.tui.screens.confirm import ConfirmDeleteScreen
from ocitree.tui.screens.main import MainScreen
from ocitree.tui.screens.refusal import RefusalScreen
from tests.helpers.tui_pilot import demo_app, press, screen_text, settle, stored, type_text, until

from .test_tui_flows import go_to, notifications
from .test_tui_prune import _releases

GATE_TIMEOUT = 60  # seconds: a test that fails before opening its gate lets the planner go then


class Gate:
    """Holds every call of a planner function made off the UI thread until opened, and counts
    them (the details pane's one-line previews call the planner on the UI thread: not held)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
        self.opened = threading.Event()
        self.calls = 0
        real = getattr(module, name)

        def held(*args, **kwargs):
            if threading.current_thread() is not threading.main_thread():
                self.calls += 1
                if not self.opened.wait(GATE_TIMEOUT):
                    raise AssertionError("the test never opened the gate")
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, held)

    def open(self) -> None:
        self.opened.set()


def status(app: OcitreeApp) -> str:
    """The status line above the footer (empty when hidden)."""
    line = app.main_screen.query_one("#status")
    return str(line.render()) if line.display else ""


def planning_shown(app: OcitreeApp) -> bool:
    return status(app).startswith("Planning the deletion") and app.screen is app.main_screen


def repositories_planned_off_the_ui_thread(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The repositories a planning thread works out from now on, by name."""
    planned: list[str] = []
    real = ocitree.core.planner._RepositoryPlan.run

    def run(self, *args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            planned.append(self.repo.name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ocitree.core.planner._RepositoryPlan, "run", run)
    return planned


async def d_held(pilot, monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> Gate:
    """d, with `module.name` held on a gate: returns once the app says it is planning."""
    gate = Gate(monkeypatch, module, name)
    await pilot.press("d")
    await until(pilot, lambda: planning_shown(pilot.app), attempts=400)
    return gate


async def mark_v_star_keep_2(pilot) -> None:
    """`m` on team/app: tags v*, keep the last 2: v1 and v2 are marked, the rest retained."""
    await press(pilot, "down", "down", "m")
    await type_text(pilot, "v*")
    await press(pilot, "tab")
    await type_text(pilot, "2")
    await press(pilot, "enter")


async def test_while_a_plan_is_worked_out_the_app_answers_and_says_so(tmp_path, monkeypatch):
    path, made = _releases(tmp_path)
    app = OcitreeApp(SampleStore(path))
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await mark_v_star_keep_2(pilot)
        gate = Gate(monkeypatch, ocitree.core.prune, "plan_prune")
        tree = app.main_screen.registry_tree
        marks = set(tree.marked)
        await pilot.press("d")
        await until(pilot, lambda: planning_shown(app), attempts=400)
        text = screen_text(app)
        assert "Planning the deletion of 2 marked artifacts...  Esc cancels" in text
        assert "esc Cancel plan" in text.splitlines()[-1]  # the footer offers it
        # Keys are handled while the planner is held: the cursor moves (team/app is the last row).
        line = tree.cursor_line
        await pilot.press("up")
        await pilot.pause()
        assert tree.cursor_line == line - 1
        # A second d starts no second plan; space does not change the marks being planned.
        await pilot.press("d", "space")
        await pilot.pause()
        assert set(tree.marked) == marks
        assert any(n.startswith("Still planning the deletion") for n in notifications(app))
        assert app.screen is app.main_screen and planning_shown(app)
        gate.open()
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDeleteScreen) and len(app.screen_stack) == 2  # one dialog
        text = screen_text(app)
        assert "Delete 6 artifacts?" in text and "Retained by the rule (2)" in text
        assert gate.calls == 1
        assert status(app) == ""  # the note is gone with the plan ready
        await press(pilot, "y")
    left = stored(path)
    assert made[1].digest not in left["team/app"] and made[2].digest not in left["team/app"]
    assert made[3].digest in left["team/app"]


async def test_esc_while_planning_cancels_and_no_dialog_comes(tmp_path, monkeypatch):
    path, _ = _releases(tmp_path)
    before = path.read_bytes()
    app = OcitreeApp(SampleStore(path))
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await mark_v_star_keep_2(pilot)
        gate = await d_held(pilot, monkeypatch, ocitree.core.prune, "plan_prune")
        planned = repositories_planned_off_the_ui_thread(monkeypatch)
        await pilot.press("escape")
        await pilot.pause()
        assert "Planning cancelled: nothing was deleted." in notifications(app)
        assert status(app) == "" and "Cancel plan" not in screen_text(app)
        gate.open()
        await settle(pilot)
        await until(pilot, lambda: not any(t.name == "ocitree-plan" for t in threading.enumerate()), attempts=400)
        assert planned == []  # the planning thread stopped at its first look instead of planning on
        assert app.screen is app.main_screen  # the cancelled plan never shows
        assert len(app.main_screen.registry_tree.marked) == 2  # Esc cancelled the plan, not the marks
        await press(pilot, "d")  # planned anew
        assert isinstance(app.screen, ConfirmDeleteScreen) and "Delete 6 artifacts?" in screen_text(app)
        await press(pilot, "escape")
        assert app.screen is app.main_screen
    assert path.read_bytes() == before


async def test_a_reload_while_planning_drops_the_plan_of_the_old_registry(tmp_path, monkeypatch):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        gate = await d_held(pilot, monkeypatch, ocitree.core.planner, "plan_deletion")
        await pilot.press("r")
        await until(pilot, lambda: not app.main_screen.loading_registry, attempts=400)
        gate.open()
        await settle(pilot)
        assert app.screen is app.main_screen  # no plan of the registry as it was before the reload
        assert any(n.startswith("The registry is read again: the plan was dropped") for n in notifications(app))
        await press(pilot, "d")
        assert isinstance(app.screen, ConfirmDeleteScreen) and "Delete 10 artifacts?" in screen_text(app)


async def test_a_refusal_is_worked_out_off_the_ui_thread_too(tmp_path, monkeypatch):
    app, _ = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        await press(pilot, "enter", "down", "escape")  # its shared child: two indexes list it
        gate = await d_held(pilot, monkeypatch, ocitree.core.planner, "plan_deletion")
        assert "Planning the deletion of the artifact under the cursor..." in screen_text(app)
        gate.open()
        await settle(pilot)
        assert isinstance(app.screen, RefusalScreen) and len(app.screen_stack) == 2
        assert "Refused: nothing will be deleted" in screen_text(app)
        await press(pilot, "g")  # still goes to the first referencing index
        assert isinstance(app.screen, MainScreen)


async def test_a_plan_ready_under_the_help_shows_once_the_help_is_closed(tmp_path, monkeypatch):
    from ocitree.tui.screens.help import HelpScreen

    app, _ = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        gate = await d_held(pilot, monkeypatch, ocitree.core.planner, "plan_deletion")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), attempts=400)
        gate.open()
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)  # not covered by a dialog that typed keys could answer
        await press(pilot, "escape")
        assert isinstance(app.screen, ConfirmDeleteScreen) and len(app.screen_stack) == 2
        assert "Delete 10 artifacts?" in screen_text(app)
