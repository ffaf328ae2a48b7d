"""JSON from a source, read and written back without a traceback.

Two things json does not do for us:

- A document nested deeper than Python's recursion limit (a few hundred thousand `[` fit
  in a small file) makes json.loads raise RecursionError, not a decoding error: `load_json`
  turns it into `NestedTooDeeply`, a ValueError each reader words as a one-line message.
- JSON may hold a lone surrogate (`"\\ud800"`), which json.loads accepts and UTF-8 cannot
  encode. `dump_json` writes such a character back as the same `\\uXXXX` escape, so
  rewriting a file keeps every string exactly as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_orjson_loads: Callable[[bytes], Any] | None
try:
    from orjson import loads as _orjson_loads
except ImportError:  # a dependency, but reading must not fail over speed
    _orjson_loads = None

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class NestedTooDeeply(ValueError):
    """JSON nested deeper than can be read (or written back)."""

    def __init__(self) -> None:
        super().__init__("JSON nested too deeply")


def load_json(data: str | bytes, **options: Any) -> Any:
    """json.loads (`options` as for it); RecursionError becomes NestedTooDeeply."""
    try:
        return json.loads(data, **options)
    except RecursionError:
        raise NestedTooDeeply() from None


def load_json_checked_later(data: bytes) -> Any:
    """load_json, three times faster through orjson where it reads the text (json where it does
    not: NaN, a lone surrogate, a BOM, other encodings), for readers that check the type of every
    value they use: orjson returns an integer beyond 64 bits as a float, where json keeps it exact,
    and a reader expecting an int must then take its careful path."""
    if _orjson_loads is not None:
        try:
            return _orjson_loads(data)
        except ValueError:  # orjson.JSONDecodeError is one
            pass
    return load_json(data)


def dump_json(doc: Any, **options: Any) -> bytes:
    """UTF-8 JSON (`options` as for json.dumps); lone surrogates as `\\uXXXX` escapes."""
    try:
        text = json.dumps(doc, ensure_ascii=False, **options)
    except RecursionError:
        raise NestedTooDeeply() from None
    # With ensure_ascii=False a surrogate can only stand inside a string, where its escape means the same.
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode()
