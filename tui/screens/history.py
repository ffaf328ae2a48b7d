"""History (`H`): the runs ocitree executed on this source; Enter shows what one deleted, `z` undoes it.

The undo itself is confirmed on ConfirmUndoScreen: the Delete confirmation, showing the undo plan."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from ocitree.core.undo.restore import UndoPlan
from ocitree.core.undo.saved import Run

from ..history_text import run_detail_lines, run_line, undo_plan_lines
from ..widgets.text_lines import TextLines
from .confirm import ConfirmDeleteScreen
from .dialog import DialogScreen

UNDO_KEY = "z"  # not u: u unmarks everything in the tree


class HistoryScreen(DialogScreen[str | None]):
    """Dismissed with the id of the run to undo, or None."""

    DEFAULT_CSS = """
    HistoryScreen #dialog { width: 96%; }
    HistoryScreen OptionList { height: auto; max-height: 10; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Close", id="history.close"),
        Binding("enter", "show", "Show run", id="history.show"),
        Binding(UNDO_KEY, "undo", "Undo run", id="history.undo"),
    ]
    AUTO_FOCUS = "OptionList"

    def __init__(self, runs: list[Run], where: str, read_only: bool = False) -> None:
        super().__init__()
        self.runs = runs
        self.where = where
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        options = [Option(Text(run_line(run)), id=run.id) for run in self.runs]
        if self.runs:
            hint = f"up/down choose   Enter show what it deleted   {UNDO_KEY} undo   Esc close"
            note = Text(f"Saved in {self.where}", "dim")
        else:
            hint = "Esc close"
            note = Text(f"No run of ocitree on this source in the history ({self.where}).", "dim")
        with Vertical(id="dialog"):
            yield Static(Text("History", "bold"), id="dialog-title")
            with Vertical(id="dialog-body"):
                if self.runs:
                    yield OptionList(*options)
                yield Static(note, id="history-detail")
            yield Static(Text(hint, "dim"), id="dialog-keys")

    def _highlighted(self) -> Run | None:
        if not self.runs:
            return None
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return None
        return self.runs[options.highlighted]

    def action_show(self) -> None:
        run = self._highlighted()
        if run is not None:
            self.app.push_screen(RunScreen(run))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_show()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo":
            return not self.read_only and bool(self.runs)
        return True

    def action_undo(self) -> None:
        run = self._highlighted()
        if run is None:
            return
        if run.kind != "delete":
            self.notify("That run is an undo: delete again to undo it.", severity="warning")
            return
        if run.undone is not None:
            self.notify("That run is undone already.", severity="warning")
            return
        self.dismiss(run.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RunScreen(DialogScreen[None]):
    """One run: what it deleted (or restored), one artifact a line."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="run.close"),
        Binding("enter", "close", "Close", show=False, id="run.enter"),
    ]

    def __init__(self, run: Run) -> None:
        super().__init__()
        self.run = run

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(f"Run {self.run.id}", "bold"), id="dialog-title")
            yield TextLines(Text("\n".join(run_detail_lines(self.run, short=True))), id="dialog-body")
            yield Static(Text("up/down scroll   Esc close", "dim"), id="dialog-keys")

    def action_close(self) -> None:
        self.dismiss(None)


class ConfirmUndoScreen(ConfirmDeleteScreen):
    """The Delete confirmation (same frame, keys and buttons), showing what the undo restores."""

    BINDINGS = [Binding("y", "confirm", "Restore", id="confirm.yes")]

    def __init__(self, plan: UndoPlan) -> None:
        DialogScreen.__init__(self)  # the deletion plan the parent shows is replaced by the undo plan
        self.undo_plan = plan
        self.read_only = False

    def compose(self) -> ComposeResult:
        n = len(self.undo_plan.restore)
        noun = f"{n} artifact{'s' if n != 1 else ''}"
        title = Text(f"Restore {noun}?", "bold")
        title.append(f"\nundo of run {self.undo_plan.run.id}")
        with Vertical(id="dialog", classes="danger"):
            yield Static(title, id="dialog-title")
            yield TextLines(Text("\n".join(undo_plan_lines(self.undo_plan, short=True))), id="dialog-body")
            yield Static(Text("y restore   n or Esc cancel   up/down scroll", "dim"), id="dialog-keys")
            with Horizontal(id="dialog-buttons"):
                yield Button(f"Restore {noun}", variant="error", id="delete", compact=True)
                yield Button("Cancel", variant="primary", id="cancel", compact=True)
