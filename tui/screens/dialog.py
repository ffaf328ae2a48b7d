"""The frame every modal shares: a title, a body that scrolls, a key hint, buttons.

A dialog says what goes in the frame (`dialog_title`, `dialog_body`, `dialog_keys`,
`dialog_buttons`, and `FRAME`, the class that colours its border); DialogScreen builds the
frame, styles it (DEFAULT_CSS below) and keeps its buttons on screen.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, ScreenResultType
from textual.widget import Widget
from textual.widgets import Button, Footer, Static

SCREEN_SHARE = 0.9  # of the terminal's height a dialog may take

# The frame's look, shared with DeletingScreen (a frame with a progress bar and no keys).
FRAME_CSS = """
#dialog {
    width: 90%;
    max-width: 100;
    height: auto;
    max-height: 90%;
    padding: 0 1;
    border: thick $primary;
    background: $surface;
}
#dialog.danger { border: thick $error; }
#dialog.refused { border: thick $warning; }
#dialog.preview { border: thick $accent; }
#dialog.error { border: thick $error; }
#dialog.progress { height: auto; padding: 1 2; }
"""


class DialogScreen(ModalScreen[ScreenResultType]):
    """Keeps the buttons on screen: the body gets whatever height the rest leaves, and
    scrolls (a CSS `max-height: 1fr` does not shrink a child of an auto-height box)."""

    DEFAULT_CSS = FRAME_CSS + """
    #dialog-title {
        height: auto;
        margin-bottom: 1;
    }
    #dialog-body {
        height: auto;
        max-height: 1fr;
    }
    #dialog-keys {
        height: 1;
        margin-top: 1;
    }
    #dialog-buttons {
        height: auto;
        align-horizontal: right;
    }
    #dialog-buttons > Button {
        margin-left: 2;
    }
    """
    BINDINGS = [
        Binding("up", "scroll(-1)", "Scroll up", show=False, tooltip="Scroll a long plan"),
        Binding("down", "scroll(1)", "Scroll down", show=False, tooltip="Scroll a long plan"),
        Binding("pageup", "scroll(-10)", "Page up", show=False),
        Binding("pagedown", "scroll(10)", "Page down", show=False),
        Binding("home", "scroll_to_end(0)", "Top", show=False),
        Binding("end", "scroll_to_end(1)", "End", show=False),
    ]
    FRAME: ClassVar[str] = ""  # the frame's class: danger, refused, preview, error or help

    # -- what a dialog puts in the frame ----------------------------------------------------------

    def dialog_title(self) -> Text:
        raise NotImplementedError

    def dialog_body(self) -> Widget:
        """The part that scrolls when the dialog is taller than the terminal."""
        raise NotImplementedError

    def dialog_keys(self) -> str | None:
        return None

    def dialog_buttons(self) -> Iterable[Button]:
        return ()

    def frame_class(self) -> str:
        return self.FRAME

    # -- the frame ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes=self.frame_class()):
            yield Static(self.dialog_title(), id="dialog-title")
            body = self.dialog_body()
            body.id = "dialog-body"
            yield body
            keys = self.dialog_keys()
            if keys is not None:
                yield Static(Text(keys, "dim"), id="dialog-keys")
            buttons = list(self.dialog_buttons())
            if buttons:
                with Horizontal(id="dialog-buttons"):
                    yield from buttons

    @on(events.Mount)
    def _cover_the_app_footer(self) -> None:
        # The app's footer below lists keys this dialog does not take (d, /, ?): cover it
        # with one listing the dialog's own.
        self.mount(Footer(compact=True, show_command_palette=False))
        self.call_after_refresh(self._fit)

    @on(events.Resize)
    def _refit(self) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        try:
            body = self.query_one("#dialog-body")
            dialog = self.query_one("#dialog")
        except Exception:
            return
        fixed = sum(w.outer_size.height + w.styles.margin.height for w in dialog.children if w is not body)
        chrome = dialog.styles.gutter.height
        footer = sum(f.outer_size.height for f in self.query(Footer))  # docked: not the dialog's
        room = int((self.size.height - footer) * SCREEN_SHARE) - fixed - chrome - body.styles.margin.height
        body.styles.max_height = max(3, room)

    def action_scroll(self, lines: int) -> None:
        body = self.query_one("#dialog-body")
        body.scroll_to(y=body.scroll_y + lines, animate=False)

    def action_scroll_to_end(self, end: int) -> None:
        body = self.query_one("#dialog-body")
        if end:
            body.scroll_end(animate=False)
        else:
            body.scroll_home(animate=False)
