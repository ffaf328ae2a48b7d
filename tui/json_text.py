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
    """`doc` as json.dumps(doc, indent=2) writes it, and a newline: as bytes through the stream's
    binary buffer where it has one (a 30 MB listing decoded to text and encoded back was three
    more copies of it)."""
    data = indented_json_bytes(doc)
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(data.decode("ascii") + "\n")
    else:
        stream.flush()  # what was written as text goes first
        buffer.write(data)
        buffer.write(b"\n")
        buffer.flush()
    stream.flush()
