"""Registry strings are data: show them literally, never as markup or terminal controls.

Rich `Text` objects already keep `[bold]` from being read as markup; what makes a string
printable (controls, bidi overrides, lone surrogates as visible escapes) is core's one rule,
core/printable.py, which Rich would otherwise pass straight to the terminal.
"""

from __future__ import annotations

from rich.text import Text

from ocitree.core.printable import printable as literal

__all__ = ["literal", "literal_text"]


def literal_text(value: object, style: str = "") -> Text:
    return Text(literal(value), style=style)
