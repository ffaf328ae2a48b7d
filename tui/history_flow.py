"""The TUI's way back: `H` opens the history; undoing a run plans it against the source as it is
now (off the UI thread: a registry is asked about every blob), confirms it on the Delete
confirmation, restores, and loads the tree again so the restored artifacts show where they were.

The app keeps one entry point (`open_history`); everything else of the flow lives here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from ocitree.core.errors import OcitreeError
from ocitree.core.printable import printable
from ocitree.core.undo.restore import UndoPlan, execute_undo, plan_undo
from ocitree.core.undo.saved import Run, RunBook

from .history_text import undo_plan_lines
from .literal import literal
from .screens.error import ErrorScreen
from .screens.history import ConfirmUndoScreen, HistoryScreen

if TYPE_CHECKING:
    from .app import OcitreeApp


def open_history(app: OcitreeApp) -> None:
    if app.loading or app.deleting:
        return
    book = RunBook()
    runs = book.runs(app.store.source)
    app.push_screen(HistoryScreen(runs, str(book.root), read_only=app.read_only or app.store.read_only),
                    callback=lambda run_id: _chosen(app, book, run_id))


def _chosen(app: OcitreeApp, book: RunBook, run_id: str | None) -> None:
    if run_id is None:
        return
    run = book.find(app.store.source, run_id)
    if run is None:
        app.notify("That run is no longer in the history.", severity="warning")
        return
    app.notify("Checking what the undo would restore...")
    app.run_worker(lambda: _plan(app, run), thread=True, exclusive=True, group="undo", exit_on_error=False)


def _plan(app: OcitreeApp, run: Run) -> None:
    try:
        plan = plan_undo(run, app.store, app.store.load())
    except Exception as exc:  # the source could not be read: nothing was written
        app.call_from_thread(_failed, app, "The undo could not be planned", exc, nothing_written=True)
        return
    app.call_from_thread(_show, app, plan)


def _show(app: OcitreeApp, plan: UndoPlan) -> None:
    if not plan.allowed:
        body = Text(printable(plan.refusal or "") + "\n\n", "bold")
        body.append("\n".join(undo_plan_lines(plan, short=True)[:-1]))  # printable already; the refusal is above
        if plan.conflicts:
            body.append(f"\n\nTo move those tags back, run: ocitree undo SOURCE {plan.run.id} --retag", "italic")
        app.push_screen(ErrorScreen("Undo refused: nothing was written", body), callback=app._after_error)
        return
    app.push_screen(ConfirmUndoScreen(plan), callback=lambda ok: _confirmed(app, plan, ok))


def _confirmed(app: OcitreeApp, plan: UndoPlan, ok: bool | None) -> None:
    if not ok:
        app.notify("Cancelled: nothing was restored.")
        return
    app.deleting = True  # the store is being written: ctrl+c asks, and quits once the restore is done
    app._stop_requested = False
    app.refresh_bindings()
    app.run_worker(lambda: _restore(app, plan), thread=True, exclusive=True, group="undo", exit_on_error=False)


def _restore(app: OcitreeApp, plan: UndoPlan) -> None:
    try:
        undo_run = execute_undo(plan, app.store, app.audit_log)
    except Exception as exc:
        app.call_from_thread(_failed, app, "The undo stopped", exc, nothing_written=False)
        return
    app.call_from_thread(_restored, app, plan, undo_run)


def _restored(app: OcitreeApp, plan: UndoPlan, undo_run: Run) -> None:
    app.deleting = False
    n = len(plan.restore)
    if app._stop_requested:  # ctrl+c was confirmed while restoring: the restore is whole, now quit
        app.exit(return_code=0, message=Text(f"ocitree: restored {n} artifact{'s' if n != 1 else ''} "
                                             f"(undo run {undo_run.id}), then stopped by ctrl+c"))
        return
    app.notify(f"Restored {n} artifact{'s' if n != 1 else ''} (undo run {undo_run.id}).", title="Undone")
    app.load()  # the tree shows them again, the cursor and open repositories kept


def _failed(app: OcitreeApp, title: str, exc: Exception, nothing_written: bool) -> None:
    app.deleting = False
    app.refresh_bindings()
    if app._stop_requested:
        app.exit(return_code=1, message=Text(f"ocitree: stopped by ctrl+c; {title.lower()}: {literal(str(exc))}"))
        return
    body = Text("Nothing was written.\n\n" if nothing_written else "", "bold")
    body.append(literal(str(exc) if isinstance(exc, OcitreeError) else f"{type(exc).__name__}: {exc}"))
    app.push_screen(ErrorScreen(title, body), callback=app._after_error)
