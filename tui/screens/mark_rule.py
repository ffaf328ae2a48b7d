"""Mark by rule (`m`): prune's choices in a dialog; the marks appear in the tree at once.

Returns a `MarkRuleRequest` (the rule and whether it covers every repository) or None."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Static

from ocitree.core.errors import BadInputError
from ocitree.core.prune import PruneRule, parse_age

from ..widgets.text_checkbox import TextCheckbox
from .dialog import DialogScreen


@dataclass(frozen=True)
class MarkRuleRequest:
    rule: PruneRule
    all_repositories: bool


class MarkByRuleScreen(DialogScreen[MarkRuleRequest | None]):
    DEFAULT_CSS = """
    MarkByRuleScreen .rule-row { height: auto; }
    MarkByRuleScreen .rule-row Label { width: 16; padding: 0 1 0 0; }
    MarkByRuleScreen .rule-row Input { width: 1fr; }
    MarkByRuleScreen #rule-error { color: $error; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="rule.cancel"),
        Binding("ctrl+s", "mark", "Mark", id="rule.mark"),
        Binding("enter", "mark", "Mark", show=False, id="rule.mark.enter"),  # on a box (an input submits, a button presses)
    ]
    AUTO_FOCUS = "#rule-tags"

    def __init__(self, repository: str | None) -> None:
        super().__init__()
        self.repository = repository

    def dialog_title(self) -> Text:
        where = f"repository {self.repository}" if self.repository else "every repository"
        return Text.assemble(("Mark by rule", "bold"), f"\nTop-level artifacts of {where}; children and accessories go with them.")

    def dialog_body(self) -> Widget:
        return VerticalScroll(  # at 80x24 the dialog is taller than its room
            Horizontal(Label("Tags (globs)"), Input(placeholder="* (every tag must match one)", id="rule-tags", compact=True),
                       classes="rule-row"),
            Horizontal(Label("Keep last"), Input(placeholder="N newest per repository", id="rule-keep", restrict=r"[0-9]*", compact=True),
                       classes="rule-row"),
            Horizontal(Label("Older than"), Input(placeholder="90d, 12h, 2w", id="rule-age", compact=True), classes="rule-row"),
            TextCheckbox("Untagged top-level images and indexes", id="rule-untagged"),
            TextCheckbox("Orphaned accessories (subject gone)", id="rule-orphans"),
            TextCheckbox("Every repository", value=self.repository is None, id="rule-all", disabled=self.repository is None),
            Static("", id="rule-error"),
        )

    def dialog_keys(self) -> str:
        return "Tab next field   Enter or ctrl+s mark   Esc cancel"

    def dialog_buttons(self) -> Iterable[Button]:
        yield Button("Mark", variant="warning", id="mark", compact=True)
        yield Button("Cancel", variant="primary", id="cancel", compact=True)

    def request(self) -> MarkRuleRequest:
        tags = tuple(t for t in self.query_one("#rule-tags", Input).value.replace(",", " ").split() if t)
        keep = self.query_one("#rule-keep", Input).value.strip()
        age = self.query_one("#rule-age", Input).value.strip()
        rule = PruneRule(
            tags=tags,
            keep_last=int(keep) if keep else None,
            older_than=parse_age(age) if age else None,
            untagged=self.query_one("#rule-untagged", Checkbox).value,
            orphans=self.query_one("#rule-orphans", Checkbox).value,
        )
        rule.check()
        return MarkRuleRequest(rule, self.query_one("#rule-all", Checkbox).value)

    def action_mark(self) -> None:
        try:
            request = self.request()
        except BadInputError as exc:
            self.query_one("#rule-error", Static).update(Text(str(exc)))
            return
        self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_mark()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "mark":
            self.action_mark()
        else:
            self.dismiss(None)
