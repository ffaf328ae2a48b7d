"""Strings from a source are data: this is the one place that makes them safe to show.

Tags, repository and directory names, annotation keys, registry error texts and exception
messages reach the terminal on many paths (the tree, plans, one-line errors, the TUI, crash
output). Each goes through `printable` first, which turns into visible escapes (`\\x1b`, `\\u202e`)
everything that could act on a terminal or on what a reader sees instead of being shown:

- C0 controls (ESC, BEL, CR, LF, TAB ...), DEL and the C1 controls 0x80-0x9f (0x9b is an 8-bit CSI);
- the bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E/F, U+202A-E,
  U+2066-9), which reorder the text around them, and the line and paragraph separators;
- lone surrogates, which no terminal can show and which cannot even be encoded to UTF-8.

The result holds only characters that are safe, so applying it twice changes nothing.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_WHITESPACE = re.compile(r"[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029 ]+")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def is_unsafe_char(char: str) -> bool:
    """True for a character `printable` would escape (tests use this to check output)."""
    return bool(_UNSAFE.fullmatch(char))


def printable(value: object) -> str:
    """`str(value)` with every unsafe character shown as a visible escape."""
    return _UNSAFE.sub(_escape, str(value))


def printable_lines(text: str) -> str:
    """Several lines (a traceback): each made printable, the line ends kept."""
    return "\n".join(printable(line) for line in str(text).splitlines())


def one_line(value: object, limit: int = 200) -> str:
    """Free text (a registry's error message) as one short line: runs of white space, line
    ends included, become one space, other unsafe characters escapes; cut at `limit`
    characters of the text (an escape is never cut in two)."""
    text = " ".join(_WHITESPACE.split(str(value))).strip()
    return printable(text) if len(text) <= limit else printable(text[: limit - 1]) + "…"
