"""ctrl+c during a deletion: stop after the artifact being deleted now, and quit?"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from .dialog import DialogScreen


class QuitDuringDeletionScreen(DialogScreen[bool]):
    BINDINGS = [
        Binding("y", "stop", "Stop and quit", id="quit.yes"),
        Binding("n", "keep", "Keep deleting", id="quit.no"),
        Binding("escape", "keep", "Keep deleting", show=False, id="quit.escape"),
    ]
    AUTO_FOCUS = "#keep"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="danger"):
            yield Static(Text("A deletion is running. Stop it and quit?", "bold"), id="dialog-title")
            yield Static(
                Text(
                    "It stops after the artifact being deleted now. What remains is consistent (an index "
                    "goes before its children, a subject before its accessories); open the source again "
                    "and delete the same to finish."
                ),
                id="dialog-body",
            )
            yield Static(Text("y stop and quit   n or Esc keep deleting", "dim"), id="dialog-keys")
            with Horizontal(id="dialog-buttons"):
                yield Button("Stop and quit", variant="error", id="stop", compact=True)
                yield Button("Keep deleting", variant="primary", id="keep", compact=True)

    def action_stop(self) -> None:
        self.dismiss(True)

    def action_keep(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "stop")
