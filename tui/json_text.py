"""`--json` documents as text: exactly what json.dumps(doc, indent=2) writes, faster.

Python's json module falls back to its pure-Python encoder whenever `indent` is set: 0.7 s of
`ocitree ls --json` at 25,000 manifests. orjson writes the same bytes in a twentieth of that
for the documents ocitree makes (str keys, str/int/bool/None values), except that it leaves
non-ASCII characters and DEL unescaped where json.dumps writes `\\uXXXX`; those documents, and
anything orjson refuses (an integer beyond 64 bits, a lone surrogate), take json.dumps, so
the output never depends on which encoder ran. One difference is left, in numbers only: a float
smaller than 0.0001 is written `0.00001` where json.dumps writes `1e-05` (the same number). The
only floats ocitree writes are created times in seconds (`history --json`), never that small
but within a tenth of a millisecond of 1970."""

from __future__ import annotations

import json
from typing import IO


def indented_json_bytes(doc: object) -> bytes:
    """json.dumps(doc, indent=2) as ASCII bytes, for writing straight to a binary stream: a 30 MB
    listing decoded to text and encoded back was three more copies of it (issue 10)."""
    data = _orjson_bytes(doc)
    return data if data is not None else json.dumps(doc, indent=2).encode("ascii")


# Stands for the items of a list in a skeleton document: NUL is in no path or URL, and its escape
# in no other text of a document.
_ITEMS = "\x00items"
_ITEMS_LINE = b'\n    "\\u0000items"\n'
ITEM_SEPARATOR = b",\n"


def json_in_parts(doc: dict[str, object], key: str) -> tuple[bytes, memoryview, bytes]:
    """(head, items, tail): indented_json_bytes(doc) cut around the items of the non-empty list
    doc[key] (`key` one of doc's own), the items as they stand in it. Documents alike but for those
    items have the same head and tail: their items joined by ITEM_SEPARATOR make one document (a
    listing made by two processes). `items` is a view: a listing is 30 MB, not copied again."""
    data = indented_json_bytes(doc)
    skeleton = indented_json_bytes({**doc, key: [_ITEMS]})
    head, found, tail = skeleton.partition(_ITEMS_LINE)
    head, tail = head + b"\n", b"\n" + tail
    assert found and data.startswith(head) and data.endswith(tail), "only the items differ"
    return head, memoryview(data)[len(head):len(data) - len(tail)], tail


def _orjson_bytes(doc: object) -> bytes | None:
    """orjson's bytes where they are json.dumps's; None where orjson is missing, refuses the
    document, or leaves a character unescaped."""
    try:
        import orjson
    except ImportError:  # a dependency, but ls must not fail over speed
        return None
    try:
        data = orjson.dumps(doc, option=orjson.OPT_INDENT_2)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None
    return data if data.isascii() and b"\x7f" not in data else None


def write_json(stream: IO[str], doc: object) -> None:
    """`doc` as json.dumps(doc, indent=2) writes it, and a newline."""
    write_bytes(stream, indented_json_bytes(doc), b"\n")


def write_bytes(stream: IO[str], *parts: bytes | memoryview) -> None:
    """ASCII bytes, one part after another (not joined: a listing is 30 MB), through the stream's
    binary buffer where it has one (decoded to text and encoded back was three more copies)."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(b"".join(parts).decode("ascii"))
    else:
        stream.flush()  # what was written as text goes first
        for part in parts:
            buffer.write(part)
        buffer.flush()
    stream.flush()
