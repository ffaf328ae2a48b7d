"""ctrl+c during a deletion: stop after the artifact being deleted now, and quit?"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Button, Static

from .dialog import DialogScreen


class QuitDuringDeletionScreen(DialogScreen[bool]):
    BINDINGS = [
        Binding("y", "stop", "Stop and quit", id="quit.yes"),
        Binding("n", "keep", "Keep deleting", id="quit.no"),
        Binding("escape", "keep", "Keep deleting", show=False, id="quit.escape"),
    ]
    AUTO_FOCUS = "#keep"

    FRAME = "danger"

    def dialog_title(self) -> Text:
        return Text("A deletion is running. Stop it and quit?", "bold")

    def dialog_body(self) -> Widget:
        return Static(
            Text(
                "It stops after the artifact being deleted now. What remains is consistent (an index "
                "goes before its children, a subject before its accessories); open the source again "
                "and delete the same to finish."
            )
        )

    def dialog_keys(self) -> str:
        return "y stop and quit   n or Esc keep deleting"

    def dialog_buttons(self) -> Iterable[Button]:
        yield Button("Stop and quit", variant="error", id="stop", compact=True)
        yield Button("Keep deleting", variant="primary", id="keep", compact=True)

    def action_stop(self) -> None:
        self.dismiss(True)

    def action_keep(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "stop")
