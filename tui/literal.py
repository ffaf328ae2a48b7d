"""Registry strings are data: show them literally, never as markup or terminal controls.

Rich `Text` objects already keep `[bold]` from being read as markup; what makes a string
printable (controls, bidi overrides, lone surrogates as visible escapes) is core's one rule,
core/printable.py, which Rich would otherwise pass straight to the terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocitree.core.printable import printable as literal

if TYPE_CHECKING:  # `ocitree ls` streams plain lines through literal() without importing Rich's Text
    from rich.text import Text

__all__ = ["literal", "literal_text"]


def literal_text(value: object, style: str = "") -> Text:
    from rich.text import Text

    return Text(literal(value), style=style)
