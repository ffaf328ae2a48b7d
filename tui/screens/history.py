"""History (`H`): the runs ocitree executed on this source; Enter shows what one deleted, `z` undoes it.

The undo itself is confirmed on ConfirmUndoScreen: the Delete confirmation, showing the undo plan."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
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

    def dialog_title(self) -> Text:
        return Text("History", "bold")

    def dialog_body(self) -> Widget:
        if not self.runs:
            return Vertical(Static(Text(f"No run of ocitree on this source in the history ({self.where}).", "dim"),
                                   id="history-detail"))
        options = [Option(Text(run_line(run)), id=run.id) for run in self.runs]
        return Vertical(OptionList(*options), Static(Text(f"Saved in {self.where}", "dim"), id="history-detail"))

    def dialog_keys(self) -> str:
        if self.runs:
            return f"up/down choose   Enter show what it deleted   {UNDO_KEY} undo   Esc close"
        return "Esc close"

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

    def dialog_title(self) -> Text:
        return Text(f"Run {self.run.id}", "bold")

    def dialog_body(self) -> Widget:
        return TextLines(Text("\n".join(run_detail_lines(self.run, short=True))))

    def dialog_keys(self) -> str:
        return "up/down scroll   Esc close"

    def action_close(self) -> None:
        self.dismiss(None)


class ConfirmUndoScreen(ConfirmDeleteScreen):
    """The Delete confirmation (same frame, keys and buttons), showing what the undo restores."""

    BINDINGS = [Binding("y", "confirm", "Restore", id="confirm.yes")]

    def __init__(self, plan: UndoPlan) -> None:
        DialogScreen.__init__(self)  # the deletion plan the parent shows is replaced by the undo plan
        self.undo_plan = plan
        self.read_only = False

    @property
    def noun(self) -> str:
        n = len(self.undo_plan.restore)
        return f"{n} artifact{'s' if n != 1 else ''}"

    def dialog_title(self) -> Text:
        title = Text(f"Restore {self.noun}?", "bold")
        title.append(f"\nundo of run {self.undo_plan.run.id}")
        return title

    def dialog_body(self) -> Widget:
        return TextLines(Text("\n".join(undo_plan_lines(self.undo_plan, short=True))))

    def dialog_keys(self) -> str:
        return "y restore   n or Esc cancel   up/down scroll"

    def dialog_buttons(self) -> Iterable[Button]:
        yield Button(f"Restore {self.noun}", variant="error", id="delete", compact=True)
        yield Button("Cancel", variant="primary", id="cancel", compact=True)
