"""Registry strings are data: show them literally, never as markup or terminal controls.

Rich `Text` objects already keep `[bold]` from being read as markup; these helpers also
turn control characters (ESC, BEL, CR, C1 controls…) into visible `\\x1b`-style escapes,
which Rich would otherwise pass straight to the terminal.
"""

from __future__ import annotations

import re

from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def literal(value: object) -> str:
    """A plain string safe to put on a terminal (use with markup off, or inside Text)."""
    return _CONTROL.sub(_escape, str(value))


def literal_text(value: object, style: str = "") -> Text:
    return Text(literal(value), style=style)
