"""The TUI's way back: `H` opens the history; undoing a run plans it against the source as it is
now (off the UI thread: a registry is asked about every blob), confirms it on the Delete
confirmation, restores, and puts the restored artifacts back into the tree in place (rebuilt from
what the run saved: the source is not read again), so they show where they were.

The main screen keeps one entry point (`open_history`); everything else of the flow lives here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from ocitree.core.errors import OcitreeError
from ocitree.core.printable import printable
from ocitree.core.model import Artifact
from ocitree.core.undo.restore import UndoPlan, execute_undo, plan_undo, read_touched
from ocitree.core.undo.restored import restored_artifacts
from ocitree.core.undo.saved import Run, RunBook

from .history_text import undo_plan_lines
from .literal import literal
from .screens.history import ConfirmUndoScreen, HistoryScreen

if TYPE_CHECKING:
    from .screens.main import MainScreen


def open_history(screen: MainScreen) -> None:
    if screen.loading_registry or screen.deleting:
        return
    book = RunBook()
    store = screen.ocitree.store
    runs = book.runs(store.source)
    screen.app.push_screen(HistoryScreen(runs, str(book.root), read_only=screen.read_only or store.read_only),
                           callback=lambda run_id: _chosen(screen, book, run_id))


def _chosen(screen: MainScreen, book: RunBook, run_id: str | None) -> None:
    if run_id is None:
        return
    run = book.find(screen.ocitree.store.source, run_id)
    if run is None:
        screen.notify("That run is no longer in the history.", severity="warning")
        return
    screen.notify("Checking what the undo would restore...")
    screen.run_worker(lambda: _plan(screen, run), thread=True, exclusive=True, group="undo", exit_on_error=False)


def _plan(screen: MainScreen, run: Run) -> None:
    store = screen.ocitree.store
    try:
        # Against the repositories the run touched, as they are now: reading the whole source
        # again for a few artifacts would cost a 100,000-artifact registry its full load time.
        plan = plan_undo(run, store, read_touched(run, store))
    except Exception as exc:  # the source could not be read: nothing was written
        screen.app.call_from_thread(_failed, screen, "The undo could not be planned", exc, nothing_written=True)
        return
    screen.app.call_from_thread(_show, screen, plan)


def _show(screen: MainScreen, plan: UndoPlan) -> None:
    if not plan.allowed:
        body = Text(printable(plan.refusal or "") + "\n\n", "bold")
        body.append("\n".join(undo_plan_lines(plan, short=True)[:-1]))  # printable already; the refusal is above
        if plan.conflicts:
            body.append(f"\n\nTo move those tags back, run: ocitree undo SOURCE {plan.run.id} --retag", "italic")
        screen.show_error("Undo refused: nothing was written", body)
        return
    screen.app.push_screen(ConfirmUndoScreen(plan), callback=lambda ok: _confirmed(screen, plan, ok))


def _confirmed(screen: MainScreen, plan: UndoPlan, ok: bool | None) -> None:
    if not ok:
        screen.notify("Cancelled: nothing was restored.")
        return
    screen.deleting = True  # the store is being written: ctrl+c asks, and quits once the restore is done
    screen.stop_requested = False
    screen.run_worker(lambda: _restore(screen, plan), thread=True, exclusive=True, group="undo", exit_on_error=False)


def _restore(screen: MainScreen, plan: UndoPlan) -> None:
    try:
        undo_run = execute_undo(plan, screen.ocitree.store, screen.ocitree.audit_log)
    except Exception as exc:
        screen.app.call_from_thread(_failed, screen, "The undo stopped", exc, nothing_written=False)
        return
    try:
        artifacts = restored_artifacts(plan.restore)
    except OcitreeError:  # a saved manifest the fast reader does not take and the full one refuses
        artifacts = None
    screen.app.call_from_thread(_restored, screen, plan, undo_run, artifacts)


def _restored(screen: MainScreen, plan: UndoPlan, undo_run: Run, artifacts: list[Artifact] | None) -> None:
    screen.deleting = False
    n = len(plan.restore)
    if screen.stop_requested:  # ctrl+c was confirmed while restoring: the restore is whole, now quit
        screen.app.exit(return_code=0, message=Text(f"ocitree: restored {n} artifact{'s' if n != 1 else ''} "
                                                    f"(undo run {undo_run.id}), then stopped by ctrl+c"))
        return
    screen.notify(f"Restored {n} artifact{'s' if n != 1 else ''} (undo run {undo_run.id}).", title="Undone")
    if artifacts is None:  # a rewritten referrers index is new content: read the source again
        screen.load()
    else:
        screen.apply_restoration(artifacts)


def _failed(screen: MainScreen, title: str, exc: Exception, nothing_written: bool) -> None:
    screen.deleting = False
    if screen.stop_requested:
        screen.app.exit(return_code=1, message=Text(f"ocitree: stopped by ctrl+c; {title.lower()}: {literal(str(exc))}"))
        return
    body = Text("Nothing was written.\n\n" if nothing_written else "", "bold")
    body.append(literal(str(exc) if isinstance(exc, OcitreeError) else f"{type(exc).__name__}: {exc}"))
    screen.show_error(title, body)
