"""The confirmation: the whole plan, Cancel focused, `y` deletes, `n` and Esc cancel."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from ocitree.core.model import Registry
from ocitree.core.plan import DeletionPlan

from ..widgets.text_lines import TextLines
from .dialog import DialogScreen
from .plan_view import plan_text


class ConfirmDeleteScreen(DialogScreen[bool]):
    BINDINGS = [
        # The help (`?`) lists those with a tooltip, with the dialogs' scroll keys and the refusal's.
        Binding("y", "confirm", "Delete", id="confirm.yes", tooltip="Delete: run the plan shown"),
        Binding("n", "cancel", "Cancel", id="confirm.no", tooltip="Cancel: nothing is deleted (Cancel has the focus)"),
        Binding("n", "close", "Close", id="preview.close"),
        Binding("escape", "cancel", "Cancel", show=False, id="confirm.escape",
                tooltip="Cancel: nothing is deleted (Cancel has the focus)"),
        Binding("escape", "close", "Close", show=False, id="preview.escape"),
        Binding("tab", "app.focus_next", "Next button", show=False, tooltip="Move between the buttons"),
    ]
    AUTO_FOCUS = "#cancel"

    def __init__(self, plan: DeletionPlan, registry: Registry, blob_reclaim: str = "gc", read_only: bool = False) -> None:
        super().__init__()
        self.plan = plan
        self.registry = registry
        self.blob_reclaim = blob_reclaim
        self.read_only = read_only  # a preview: the same plan, and no way to run it

    def compose(self) -> ComposeResult:
        n = len(self.plan.delete)
        noun = f"{n} artifact{'s' if n != 1 else ''}"
        if self.read_only:
            title = Text(f"Read-only preview: deleting would take {noun}", "bold")
            keys = "n or Esc close   up/down scroll   (read-only: nothing can be deleted)"
        else:
            title = Text(f"Delete {noun}?", "bold")
            keys = "y delete   n or Esc cancel   up/down scroll"
        title.append(f"\n{self.plan.summary()}")
        with Vertical(id="dialog", classes="preview" if self.read_only else "danger"):
            yield Static(title, id="dialog-title")
            yield TextLines(plan_text(self.plan, self.registry, self.blob_reclaim), id="dialog-body")
            yield Static(Text(keys, "dim"), id="dialog-keys")
            with Horizontal(id="dialog-buttons"):
                if not self.read_only:
                    yield Button(f"Delete {noun}", variant="error", id="delete", compact=True)
                yield Button("Close" if self.read_only else "Cancel", variant="primary", id="cancel", compact=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("confirm", "cancel"):
            return not self.read_only
        if action == "close":
            return self.read_only
        return True

    def action_close(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        if not self.read_only:
            self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "delete")
