"""Created times: when an image or index was built, as far as the source says.

An image's time is its config's `created` (stored on the Artifact by the store that read the
config) or else its `org.opencontainers.image.created` annotation; an index takes its newest
child's (or its own annotation when no child has a date). An artifact with neither has no date:
rules on age never select it, and ordering rules report it instead of guessing.
"""

from __future__ import annotations

import datetime as _dt

from .media_types import INDEX_TYPES
from .model import Artifact, Repository

CREATED_ANNOTATION = "org.opencontainers.image.created"


def parse_created(text: object) -> float | None:
    """RFC 3339 text -> POSIX seconds; None for anything else (a date is optional data)."""
    if not isinstance(text, str) or not 10 <= len(text) <= 64:
        return None
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    # Go writes nanoseconds; Python takes at most microseconds.
    if "." in value:
        head, _, rest = value.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        value = f"{head}.{rest[:min(digits, 6)]}{rest[digits:]}" if digits else head + rest[digits:]
    try:
        parsed = _dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None or "T" not in value.upper():
        return None  # a date without a zone or a time is not RFC 3339
    return parsed.timestamp()


def format_created(seconds: float | None) -> str:
    """`2026-01-31T12:00:00Z`, or `-` when unknown."""
    if seconds is None:
        return "-"
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class CreatedTimes:
    """Created time of each artifact of one repository, computed once per digest."""

    __slots__ = ("repo", "_memo")

    def __init__(self, repo: Repository):
        self.repo = repo
        self._memo: dict[str, float | None] = {}

    def of(self, digest: str) -> float | None:
        memo = self._memo
        if digest in memo:
            return memo[digest]
        memo[digest] = None  # a hand-made cycle ends here instead of recursing forever
        artifact = self.repo.artifacts.get(digest)
        value: float | None = None
        if artifact is not None:
            if artifact.is_index:
                arts = self.repo.artifacts
                dated: list[float] = []
                for entry in artifact.children:
                    # An image's own time at once: a prune asks for every child of thousands of
                    # indexes (is_index written out: a call per child was a fifth of the selection).
                    child = arts.get(entry.digest)
                    if child is not None and child.created is not None and child.media_type not in INDEX_TYPES:
                        dated.append(child.created)
                    elif (t := self.of(entry.digest)) is not None:
                        dated.append(t)
                value = max(dated) if dated else self._own(artifact)
            else:
                value = artifact.created if artifact.created is not None else self._own(artifact)
        memo[digest] = value
        return value

    @staticmethod
    def _own(artifact: Artifact) -> float | None:
        annotations = artifact.annotations
        return parse_created(annotations.get(CREATED_ANNOTATION)) if annotations else None
