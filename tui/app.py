"""OcitreeApp: the store and the options ocitree was started with, around one MainScreen.

The main screen (screens/main.py) owns the registry, the marks and every flow; the app keeps
only what is the whole program's: the theme, the crash report, ctrl+c, the command palette.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input

from ocitree.core.stores.base import Store

from .literal import literal
from .screens.main import MainScreen


class OcitreeApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "ocitree"
    ENABLE_COMMAND_PALETTE = True
    NOTIFICATION_TIMEOUT = 3  # placed clear of the details pane (app.tcss); short, as a status line
    # Under 80 columns the details pane goes below the tree instead of beside it.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-wide")]

    BINDINGS = [
        # Over dialogs too; copies selected text instead when there is some.
        Binding("ctrl+c", "interrupt", "Quit", tooltip="Quit (asks first during a deletion); with text selected, copy it",
                show=False, priority=True, system=True, id="interrupt"),
    ]

    def __init__(
        self,
        store: Store,
        read_only: bool = False,
        protect: Iterable[str] = (),
        audit_log: Path | None = None,
    ) -> None:
        # The terminal's own 16 colours (ansi-dark theme). Saying so before App.__init__ matters:
        # that is where NO_COLOR picks its filter, and only the ANSI one keeps default colours.
        super().__init__(ansi_color=True)
        self.store = store
        self.read_only = read_only or store.read_only
        self.protect = list(protect)
        self.audit_log = audit_log
        self.main_screen = MainScreen(self)
        self.theme = "ansi-dark"

    def get_default_screen(self) -> Screen:
        return self.main_screen

    # Textual's own version of this private hook shows local variables, and a frame in the
    # registry code can hold an Authorization header or a token request. There is no public
    # hook for an unhandled exception; tests/functional/test_tui_crash.py fails if this one stops being
    # called (the credential in its locals would be printed).
    def _fatal_error(self) -> None:
        """Exit after an unhandled exception, showing the traceback WITHOUT local variables.
        The exception's own text is made printable: it can quote a tag or a registry's answer."""
        import rich
        from rich.traceback import Traceback

        self.bell()
        traceback = Traceback(show_locals=False, width=None, suppress=[rich])
        for stack in traceback.trace.stacks:  # an exception's text can quote a source string
            stack.exc_type, stack.exc_value = literal(stack.exc_type), literal(stack.exc_value)
            stack.notes = [literal(note) for note in stack.notes]
        self.panic(traceback)

    def on_resize(self, event) -> None:
        # Under 80 columns the footer needs the palette's room for q Quit (ctrl+p still works).
        for footer in self.main_screen.query(Footer):
            footer.show_command_palette = event.size.width >= 80

    def action_interrupt(self) -> None:
        """ctrl+c: copy selected text if there is some; else quit, asking first while deleting."""
        focused = self.focused
        selected = focused.selected_text if isinstance(focused, Input) else None
        if not selected:
            selected = self.screen.get_selected_text()
        if selected:
            self.copy_to_clipboard(selected)
            self.screen.clear_selection()
            self.notify("Copied the selected text.")
            return
        self.main_screen.interrupt()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from self.main_screen.system_commands()
        # Textual's own "Keys" shows a key panel for the focused widget; ours lists them all.
        yield from (c for c in super().get_system_commands(screen) if c.title != "Keys")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "command_palette":  # its Quit would stop a deletion part way
            return not self.main_screen.deleting
        return True
