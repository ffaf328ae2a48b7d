"""A refused plan: why, naming each referencing index or protected tag; nothing is deleted."""

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

JUMP = "jump"


class RefusalScreen(DialogScreen[str | None]):
    """Dismisses with JUMP when the user wants to see the first referencing index."""

    BINDINGS = [
        Binding("g", "jump", "Go to index", id="refusal.jump", tooltip="On a refusal: go to the first referencing index"),
        Binding("escape", "close", "Close", id="refusal.close"),
        Binding("n", "close", "Close", show=False),
    ]
    AUTO_FOCUS = "#close"

    def __init__(self, plan: DeletionPlan, registry: Registry, body: PlanBody | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.registry = registry
        self.body = body  # the refusal's lines, when a worker made them already
        self.first_parent = next(
            ((r.repository, r.parents[0].digest) for r in plan.refusals if r.reason == "referenced" and r.parents), None
        )

    FRAME = "refused"

    def dialog_title(self) -> Text:
        title = Text("Refused: nothing will be deleted", "bold")
        title.append(f"\n{self.plan.summary()}")
        return title

    def dialog_body(self) -> Widget:
        body = self.body or plan_body(self.plan, self.registry)
        return TextLines(body.lines, widths=body.widths)

    def dialog_keys(self) -> str:
        return "g go to the first referencing index   Esc close" if self.first_parent else "Esc close"

    def dialog_buttons(self) -> Iterable[Button]:
        if self.first_parent:
            yield Button("Go to index", id="jump", compact=True)
        yield Button("Close", variant="primary", id="close", compact=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "jump":  # a protected tag has no index to go to: not offered
            return self.first_parent is not None
        return True

    def action_jump(self) -> None:
        if self.first_parent:
            self.dismiss(JUMP)

    def action_close(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(JUMP if event.button.id == "jump" else None)
