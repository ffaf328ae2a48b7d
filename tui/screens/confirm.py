"""The confirmation: the whole plan, Cancel focused, `y` deletes, `n` and Esc cancel."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from core.model import Registry
from core.plan import DeletionPlan

from ..widgets.text_lines import TextLines
from .dialog import DialogScreen
from .plan_view import plan_text


class ConfirmDeleteScreen(DialogScreen[bool]):
    BINDINGS = [
        Binding("y", "confirm", "Delete", id="confirm.yes"),
        Binding("n", "cancel", "Cancel", id="confirm.no"),
        Binding("escape", "cancel", "Cancel", show=False, id="confirm.escape"),
    ]
    AUTO_FOCUS = "#cancel"

    def __init__(self, plan: DeletionPlan, registry: Registry, blob_reclaim: str = "gc") -> None:
        super().__init__()
        self.plan = plan
        self.registry = registry
        self.blob_reclaim = blob_reclaim

    def compose(self) -> ComposeResult:
        n = len(self.plan.delete)
        noun = f"{n} artifact{'s' if n != 1 else ''}"
        title = Text(f"Delete {noun}?", "bold")
        title.append(f"\n{self.plan.summary()}")
        with Vertical(id="dialog", classes="danger"):
            yield Static(title, id="dialog-title")
            yield TextLines(plan_text(self.plan, self.registry, self.blob_reclaim), id="dialog-body")
            yield Static(Text("y delete   n or Esc cancel   up/down scroll", "dim"), id="dialog-keys")
            with Horizontal(id="dialog-buttons"):
                yield Button(f"Delete {noun}", variant="error", id="delete", compact=True)
                yield Button("Cancel", variant="primary", id="cancel", compact=True)

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "delete")
