"""A checkbox whose state is in its text, not only in its colour.

Textual's Checkbox draws an X whether it is on or off, and tells the two apart by colour alone:
with NO_COLOR, in 16 colours or on a dim screen every box reads as ticked. Here the X is drawn
only when the box is on."""

from __future__ import annotations

from textual.widgets import Checkbox


class TextCheckbox(Checkbox):
    @property  # ToggleButton reads it at each render, where Textual has a class attribute
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # noqa: N802 (Textual's name)
        return "X" if self.value else " "
