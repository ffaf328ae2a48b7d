"""The `/` search index: built once per repository graph, answering in one string scan.

search.find_matches walked every artifact and lowered every tag per query: 0.8-1.5 s at a
million artifacts. Here each repository keeps its digests in tree order, the same sorted (a
digest prefix is a bisect, then the digests that follow: a scan of every digest's text took
50 ms at a million) and one text of their lowered tags (a query is `str.find` over it, C
speed, plus a bisect per hit). A repository whose graph changed (a deletion makes a new one) is indexed
again on the next query; the others are kept. Same matches, same order as find_matches.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from itertools import accumulate

from ocitree.core.model import Registry, Repository

from .entries import RootItems
from .search import Match, query_hex_prefix

_SEP = "\n"  # never in a tag (tag grammar) nor in a digest


class _RepositoryIndex:
    __slots__ = ("repo", "lowered_name", "order", "algorithms", "by_digest", "by_digest_at", "tag_text", "tag_starts", "tag_items")

    def __init__(self, repo: Repository, roots: RootItems):
        self.repo = repo
        self.lowered_name = repo.name.lower()
        # Tuples, not lists: a tuple of strings and ints drops out of the garbage collector's
        # view after its first pass, where a list is walked by every full collection; with
        # every repository's lists kept, each walk cost tens of ms on a key press at 100,000.
        order = roots.of(repo)
        placed = set(order)
        order.extend(d for d in repo.artifacts if d not in placed)
        self.order = tuple(order)
        self.algorithms = sorted({d.partition(":")[0] for d in order})
        at = sorted(range(len(order)), key=order.__getitem__)
        self.by_digest = tuple(order[i] for i in at)  # the digests, sorted
        self.by_digest_at = array("q", at)  # where each of them is in `order` (no int objects)
        tagged = [(i, _SEP.join(t.lower() for t in repo.artifacts[d].tags)) for i, d in enumerate(order) if repo.artifacts[d].tags]
        self.tag_items = tuple(i for i, _ in tagged)
        texts = [t for _, t in tagged]
        self.tag_text = "\0".join(texts)
        self.tag_starts = tuple(accumulate((len(t) + 1 for t in texts), initial=0))

    def hex_hits(self, prefix: str) -> list[int]:
        """Positions in `order` of the digests whose hex starts with `prefix` (any algorithm)."""
        digests, at, hits = self.by_digest, self.by_digest_at, []
        for algorithm in self.algorithms:
            needle = f"{algorithm}:{prefix}"
            i = bisect_left(digests, needle)
            while i < len(digests) and digests[i].startswith(needle):
                hits.append(at[i])
                i += 1
        return hits

    def tag_hits(self, lowered: str) -> list[int]:
        if _SEP in lowered or "\0" in lowered:
            return []  # no tag holds either
        text, starts, items = self.tag_text, self.tag_starts, self.tag_items
        hits = []
        at = text.find(lowered)
        while at != -1:
            k = bisect_right(starts, at) - 1
            hits.append(items[k])
            at = text.find(lowered, starts[k + 1])
        return hits


class FindIndex:
    def __init__(self, registry: Registry, roots: RootItems | None = None):
        self.registry = registry
        self.roots = roots if roots is not None else RootItems()
        self._repos: dict[str, _RepositoryIndex] = {}
        for repo in registry.repositories.values():
            self._index(repo)

    def _index(self, repo: Repository) -> _RepositoryIndex:
        entry = self._repos.get(repo.name)
        if entry is None or entry.repo is not repo:
            entry = self._repos[repo.name] = _RepositoryIndex(repo, self.roots)
        return entry

    def matches(self, query: str, shown=None) -> list[Match]:
        """Like search.find_matches; `shown` (a FilterResult) keeps only the rows a filter shows."""
        q = query.strip()
        if not q:
            return []
        lowered = q.lower()
        hex_prefix = query_hex_prefix(lowered)
        matches: list[Match] = []
        for name in sorted(self.registry.repositories):
            if shown is not None and name not in shown.repositories:
                continue
            entry = self._index(self.registry.repositories[name])
            if lowered in entry.lowered_name:
                matches.append(Match(name))
            hits = entry.tag_hits(lowered)
            if hex_prefix is not None:
                hits = sorted(set(hits).union(entry.hex_hits(hex_prefix)))
            order = entry.order
            if shown is None:
                matches.extend(Match(name, order[i]) for i in hits)
            else:
                matches.extend(Match(name, order[i]) for i in hits if shown.shows((name, order[i])))
        return matches
