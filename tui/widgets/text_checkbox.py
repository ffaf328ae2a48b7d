"""A checkbox whose state is in its text, not only in its colour, and that Enter does not toggle.

Textual's Checkbox draws an X whether it is on or off, and tells the two apart by colour alone:
with NO_COLOR, in 16 colours or on a dim screen every box reads as ticked. Here the X is drawn
only when the box is on. Space toggles it; Enter is left to the dialog, whose line of keys says
that Enter confirms (Textual's box took it to toggle, so Enter on a box unticked it instead)."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Checkbox


class TextCheckbox(Checkbox, inherit_bindings=False):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("space", "toggle_button", "Toggle", show=False)]

    @property  # ToggleButton reads it at each render, where Textual has a class attribute
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # noqa: N802 (Textual's name)
        return "X" if self.value else " "
