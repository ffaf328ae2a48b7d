"""Doublestar globs, as Harbor's retention and immutability selectors match them (bmatcuk/doublestar).

`*` is any run of characters but `/`; `**` is any run including `/`; `?` one character but `/`;
`[abc]`, `[a-z]`, `[^a]` classes; `{a,b}` alternatives; `\\` escapes the next character.
An empty pattern matches everything, as in Harbor's selector.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .errors import BadInputError


@lru_cache(maxsize=256)
def compile_doublestar(pattern: str) -> re.Pattern[str]:
    return re.compile(_translate(pattern, 0, len(pattern), in_braces=False)[0] + r"\Z", re.DOTALL)


def doublestar_match(pattern: str, text: str) -> bool:
    if not pattern:
        return True
    return compile_doublestar(pattern).match(text) is not None


def _translate(p: str, i: int, end: int, in_braces: bool) -> tuple[str, int]:
    out: list[str] = []
    while i < end:
        c = p[i]
        if in_braces and c in ",}":
            return "".join(out), i
        if c == "\\":
            if i + 1 >= end:
                raise BadInputError(f"invalid pattern {p!r}: it ends with an escape")
            out.append(re.escape(p[i + 1]))
            i += 2
        elif c == "*":
            if i + 1 < end and p[i + 1] == "*":
                out.append(".*")
                i += 2
            else:
                out.append("[^/]*")
                i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            close = p.find("]", i + 2 if i + 1 < end and p[i + 1] in "^!" else i + 1)
            if close == -1 or close >= end:
                raise BadInputError(f"invalid pattern {p!r}: '[' without ']'")
            body = p[i + 1:close]
            negate = body[:1] in ("^", "!")
            body = body[1:] if negate else body
            inner = "".join("\\" + ch if ch in "\\^[]" else ch for ch in body)
            out.append(f"[^/{inner}]" if negate else f"[{inner}]")
            i = close + 1
        elif c == "{":
            alternatives = []
            i += 1
            while True:
                part, i = _translate(p, i, end, in_braces=True)
                alternatives.append(part)
                if i >= end:
                    raise BadInputError(f"invalid pattern {p!r}: '{{' without '}}'")
                if p[i] == "}":
                    i += 1
                    break
                i += 1  # ','
            out.append("(?:" + "|".join(alternatives) + ")")
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out), i
