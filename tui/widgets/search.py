"""`/` search: repository names, tags, digest prefixes; the matches in tree order."""

from __future__ import annotations

import re
from dataclasses import dataclass

from textual.widgets import Input

from ocitree.core.model import Registry

from .entries import RootItems

_HEX = re.compile(r"^[0-9a-f]+$")
MIN_BARE_HEX = 4  # "ab" alone would match one digest in 256; with "sha256:" any length goes


@dataclass(frozen=True, slots=True)
class Match:
    repository: str
    digest: str | None = None  # None: the repository itself matched


def query_hex_prefix(lowered: str) -> str | None:
    """The digest prefix a lowered query asks for, if it asks for one."""
    algorithm, colon, rest = lowered.partition(":")
    if colon and algorithm in ("sha256", "sha512") and _HEX.match(rest or "0"):
        return rest
    if _HEX.match(lowered) and len(lowered) >= MIN_BARE_HEX:
        return lowered
    return None


def find_matches(registry: Registry, query: str, shown=None, roots: RootItems | None = None) -> list[Match]:
    """Matches in tree order; with a filter on (`shown`, a FilterResult), only rows it shows.
    Every match by scanning the registry (find_index.FindIndex gives the same, indexed)."""
    q = query.strip()
    if not q:
        return []
    lowered = q.lower()
    hex_prefix = query_hex_prefix(lowered)
    roots = roots if roots is not None else RootItems()
    matches: list[Match] = []
    for name in sorted(registry.repositories):
        repo = registry.repositories[name]
        if shown is not None and name not in shown.repositories:
            continue
        if lowered in name.lower():
            matches.append(Match(name))
        order = roots.of(repo)
        placed = set(order)
        order.extend(d for d in repo.artifacts if d not in placed)
        for digest in order:
            artifact = repo.artifacts[digest]
            hit = hex_prefix is not None and digest.partition(":")[2].startswith(hex_prefix)
            if not hit:
                hit = any(lowered in t.lower() for t in artifact.tags)
            if hit and (shown is None or shown.shows((name, digest))):
                matches.append(Match(name, digest))
    return matches


class SearchBar(Input):
    """Docked at the bottom while typing a search; Enter jumps, Esc clears."""
