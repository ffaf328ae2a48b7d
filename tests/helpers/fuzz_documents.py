"""Hypothesis strategies for the fuzz tests: random JSON, and good documents mutated.

A mutation is one of: a value anywhere in the document replaced (by random JSON, a hostile
string, a deep nest, a huge or negative number), a key removed, a key added, a list item
duplicated or dropped; or, on the serialized bytes, a byte range replaced, inserted or cut.
Strings draw from an alphabet heavy in what breaks things: controls, C1, bidi overrides,
lone surrogates, quotes and backslashes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

NASTY_CHARS = ["\x00", "\x07", "\x1b", "\x7f", "\x9b", "\u202e", "\u2066", "\ud800", "\udfff", "\n", "\r", '"',
               "\\", "/", ":", "@", "[", "%", "\u2028", "\ufeff", "é", "\U0001f600"]
characters = st.sampled_from(NASTY_CHARS) | st.characters(codec="utf-8") | st.characters(max_codepoint=0x7F)
strings = st.text(characters, max_size=12) | st.sampled_from([
    "latest", "team/app", "sha256:" + "a" * 64, "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json", "org.opencontainers.image.ref.name", "linux", "amd64",
    "\x1b]0;pwned\x07", "\x1b[2J", "\ud800",
])
numbers = st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False) | st.sampled_from([0, -1, 2**63])
scalars = st.none() | st.booleans() | numbers | strings
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(strings, inner, max_size=4),
                           max_leaves=12)


@st.composite
def deep_nests(draw) -> Any:
    """A nest as deep as json can just read (990) or far deeper than Python's recursion limit."""
    return _RawDeep(draw(st.sampled_from([500, 990, 1500, 5000, 100_000])), draw(st.booleans()))


class _RawDeep:
    """Marks a place for a nest too deep to build in Python: spliced into the serialized text."""

    def __init__(self, depth: int, objects: bool):
        self.text = ('{"a":' * depth + "1" + "}" * depth) if objects else ("[" * depth + "]" * depth)


def _places(doc: Any, path: tuple = ()) -> list[tuple]:
    """Every path into `doc` (dict keys and list indexes), the root included."""
    out = [path]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _places(value, path + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += _places(value, path + (i,))
    return out


def _parent(doc: Any, path: tuple) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated(draw, good: Any) -> Any:
    """`good` (a JSON document) with one to three structural mutations."""
    doc = copy.deepcopy(good)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_places(doc)))
        how = draw(st.sampled_from(["replace", "replace", "hostile", "deep", "remove", "add", "duplicate"]))
        if not path:
            if how in ("replace", "hostile"):
                doc = draw(json_values)
            continue
        parent, last = _parent(doc, path), path[-1]
        if how == "replace":
            parent[last] = draw(json_values)
        elif how == "hostile":
            parent[last] = draw(strings)
        elif how == "deep":
            parent[last] = draw(deep_nests())
        elif how == "remove":
            del parent[last]
        elif how == "add" and isinstance(parent[last], dict):
            parent[last][draw(strings)] = draw(json_values)
        elif how == "add" and isinstance(parent, dict):
            parent[draw(strings)] = draw(json_values)
        elif how == "duplicate" and isinstance(parent, list):
            parent.insert(last, copy.deepcopy(parent[last]))
    return doc


def serialize(doc: Any) -> bytes:
    """JSON bytes; lone surrogates as escapes (as a hand-written file holds them), deep nests spliced in."""
    marks: list[str] = []

    def default(value):
        if isinstance(value, _RawDeep):
            marks.append(value.text)
            return f"\x00deep{len(marks) - 1}\x00"
        raise TypeError(type(value).__name__)

    try:
        text = json.dumps(doc, default=default)  # ensure_ascii: surrogates become \ud800
    except (RecursionError, ValueError):
        return b"[]"
    for i, nest in enumerate(marks):
        text = text.replace(json.dumps(f"\x00deep{i}\x00"), nest)
    return text.encode()


@st.composite
def byte_mutated(draw, data: bytes) -> bytes:
    """`data` with one to four byte-level changes: replaced, inserted or cut ranges."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(out)))
        how = draw(st.sampled_from(["replace", "insert", "cut"]))
        piece = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(
            [b"\xff", b"\xed\xa0\x80", b'"', b"\\u", b"\\ud800", b"[", b"{", b"}", b"]", b",", b":", b"\x1b[2J", b"null"]))
        if how == "replace":
            out[at:at + len(piece)] = piece
        elif how == "insert":
            out[at:at] = piece
        else:
            del out[at:at + draw(st.integers(1, 16))]
    return bytes(out)


def documents(good: Any) -> st.SearchStrategy[bytes]:
    """Bytes of a document to feed a reader: mostly a mutated `good`, sometimes random JSON
    or raw byte damage."""
    return st.one_of(
        mutated(good).map(serialize),
        mutated(good).map(serialize),
        st.just(serialize(good)).flatmap(byte_mutated),
        json_values.map(serialize),
    )
