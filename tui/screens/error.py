"""Errors: what went wrong, what was deleted and what was not, and what to do."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Button

from ocitree.core.names import short_digest

from ..literal import literal
from ..widgets.text_lines import TextLines
from .dialog import DialogScreen

if TYPE_CHECKING:  # pydantic, which the first screen does without (issue 10)
    from ocitree.core.plan import ExecutionResult

RETRY = "retry"
QUIT = "quit"


def result_text(result: ExecutionResult) -> Text:
    text = Text()
    for f in result.failed:
        where = f"{literal(f.repository)}@{short_digest(f.digest)}: " if f.digest else ""
        text.append("Failed: ", "bold")
        text.append(where + literal(f.error) + "\n")
    text.append(f"\nDeleted ({len(result.deleted)})\n", "bold")
    for d in result.deleted:
        text.append(f"  - {literal(d.repository)}@{short_digest(d.digest)} {literal(', '.join(d.tags))}\n")
    if not result.deleted:
        text.append("  nothing\n")
    text.append(f"\nNot deleted ({len(result.not_done)})\n", "bold")
    for d in result.not_done:
        text.append(f"  = {literal(d.repository)}@{short_digest(d.digest)} {literal(', '.join(d.tags))}\n")
    text.append(
        "\nWhat remains is consistent: no remaining artifact points at a deleted one. "
        "Press r to reload, then delete again to finish.\n",
        "italic",
    )
    text.rstrip()
    return text


class ErrorScreen(DialogScreen[str | None]):
    BINDINGS = [
        Binding("escape", "close", "Close", id="error.close"),
        Binding("enter", "close", "Close", show=False),
        Binding("r", "retry", "Reload", id="error.retry"),
        Binding("q", "quit_app", "Quit", id="error.quit"),
    ]
    AUTO_FOCUS = "#close"

    def __init__(self, title: str, body: Text, *, can_close: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.can_close = can_close

    FRAME = "error"

    def dialog_title(self) -> Text:
        return Text(self.title_text, "bold")

    def dialog_body(self) -> Widget:
        return TextLines(self.body)

    def dialog_buttons(self) -> Iterable[Button]:
        yield Button("Reload (r)", id="retry", compact=True)
        yield Button("Quit (q)", id="quit", compact=True)
        if self.can_close:
            yield Button("Close", variant="primary", id="close", compact=True)

    def on_mount(self) -> None:
        if not self.can_close:
            self.query_one("#retry", Button).focus()

    def action_close(self) -> None:
        if self.can_close:
            self.dismiss(None)

    def action_retry(self) -> None:
        self.dismiss(RETRY)

    def action_quit_app(self) -> None:
        self.dismiss(QUIT)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss({"retry": RETRY, "quit": QUIT}.get(event.button.id or ""))
