"""The frame every modal shares: a title, a body that scrolls, a key hint, buttons."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.screen import ModalScreen, ScreenResultType
from textual.widgets import Footer

SCREEN_SHARE = 0.9  # of the terminal's height a dialog may take


class DialogScreen(ModalScreen[ScreenResultType]):
    """Keeps the buttons on screen: the body gets whatever height the rest leaves, and
    scrolls (a CSS `max-height: 1fr` does not shrink a child of an auto-height box)."""

    BINDINGS = [
        Binding("up", "scroll(-1)", "Scroll up", show=False, tooltip="Scroll a long plan"),
        Binding("down", "scroll(1)", "Scroll down", show=False, tooltip="Scroll a long plan"),
        Binding("pageup", "scroll(-10)", "Page up", show=False),
        Binding("pagedown", "scroll(10)", "Page down", show=False),
        Binding("home", "scroll_to_end(0)", "Top", show=False),
        Binding("end", "scroll_to_end(1)", "End", show=False),
    ]

    # Textual calls the `_on_<event>` handler of each class in the MRO, so these run besides
    # Screen's own; their signatures follow Screen's (the resize handler is async there).
    def _on_mount(self, event: events.Mount) -> None:
        # The app's footer below lists keys this dialog does not take (d, /, ?): cover it
        # with one listing the dialog's own.
        self.mount(Footer(compact=True, show_command_palette=False))
        self.call_after_refresh(self._fit)

    async def _on_resize(self, event: events.Resize) -> None:
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
