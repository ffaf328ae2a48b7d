"""The confirmation: the whole plan, Cancel focused, `y` deletes, `n` and Esc cancel."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Button

from ocitree.core.model import Registry

from ..widgets.text_lines import TextLines
from .dialog import DialogScreen
from .plan_view import PlanBody, plan_body

if TYPE_CHECKING:  # pydantic, which the first screen does without (issue 10)
    from ocitree.core.plan import DeletionPlan


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

    def __init__(self, plan: DeletionPlan, registry: Registry, blob_reclaim: str = "gc", read_only: bool = False,
                 body: PlanBody | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.registry = registry
        self.blob_reclaim = blob_reclaim  # the plan itself says who frees its blobs
        self.read_only = read_only  # a preview: the same plan, and no way to run it
        self.body = body  # the plan's lines, when a worker made them already

    @property
    def noun(self) -> str:
        n = len(self.plan.delete)
        return f"{n} artifact{'s' if n != 1 else ''}"

    def frame_class(self) -> str:
        return "preview" if self.read_only else "danger"

    def dialog_title(self) -> Text:
        if self.read_only:
            title = Text(f"Read-only preview: deleting would take {self.noun}", "bold")
        else:
            title = Text(f"Delete {self.noun}?", "bold")
        title.append(f"\n{self.plan.summary()}")
        return title

    def dialog_body(self) -> Widget:
        body = self.body or plan_body(self.plan, self.registry)
        return TextLines(body.lines, widths=body.widths)

    def dialog_keys(self) -> str:
        if self.read_only:
            return "n or Esc close   up/down scroll   (read-only: nothing can be deleted)"
        return "y delete   n or Esc cancel   up/down scroll"

    def dialog_buttons(self) -> Iterable[Button]:
        if not self.read_only:
            yield Button(f"Delete {self.noun}", variant="error", id="delete", compact=True)
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
