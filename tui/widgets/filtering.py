"""`f` filter: which artifacts match, and which rows stay visible so that they can be reached.

An artifact matches when every word of the filter matches one of: its repository's name, a
tag, the start of its digest, a platform an index lists it with (`s390x`, `linux/arm64/v8`),
its kind (`index`, `image`, `signature`, `sbom`, ...) or a marker (`shared`, `untagged`,
`orphaned`, `protected`). The rows shown are the matches, every row above them (the parents
and subjects on the way up) and everything below a match.

Built for 100,000 artifacts: each repository's searchable words are worked out once per
graph (a deletion makes a new graph), so a filter is a few substring tests per artifact.
No Textual here.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate, chain

from ocitree.core.model import Registry, Repository
from ocitree.core.protection import ProtectionRule, first_protected

from .entries import RootItems

ArtifactKey = tuple[str, str]
_HEX = re.compile(r"^[0-9a-f]+$")
MIN_BARE_HEX = 4  # a bare word this short is a tag or name fragment, not a digest prefix
ORPHANED = "orphaned"


class RepoWords:
    """One repository's words, in two shapes. Tags, nearly all different, as one string
    (artifacts separated by NUL), so that finding a word is a C-speed `str.find` over the
    whole repository rather than a test per artifact. Kinds, platforms and markers, a few
    values each shared by thousands of artifacts, as value -> digests: a word is tested
    against each value once and the matching digests come as a whole (a test per artifact
    took 30 ms at 100,000 for `arm64` or `shared`). The digests' hex, each after an `@`, in a
    third string, so that only a digest's start matches a digest prefix."""

    __slots__ = ("digests", "table", "blob", "starts", "values", "hexblob", "hexstarts")

    def __init__(self, table: dict[str, str], values: dict[str, tuple[str, ...]]) -> None:
        self.table = table  # digest -> its lowered tags, one per line
        self.values = values  # lowered kind, platform or marker -> the digests it describes
        self.digests = tuple(table)  # tuples: see find_index (the collector skips them)
        self.blob, self.starts = _joined([table[d] for d in self.digests])
        self.hexblob, self.hexstarts = _joined(["@" + d.partition(":")[2] for d in self.digests])

    def containing(self, word: str) -> set[str]:
        """Digests whose words contain `word`."""
        if not word:
            found = set(self.digests)
        elif self.blob.count(word) > len(self.digests) // 8:  # common: one test per artifact is cheaper
            found = {d for d, text in self.table.items() if word in text}
        else:
            found = self._find(self.blob, self.starts, word)
        for value, digests in self.values.items():
            if word in value:
                found.update(digests)
        return found

    def starting(self, hex_prefix: str) -> set[str]:
        """Digests whose hex starts with `hex_prefix`."""
        return self._find(self.hexblob, self.hexstarts, "@" + hex_prefix)

    def _find(self, blob: str, starts: tuple[int, ...], needle: str) -> set[str]:
        if not needle or "\0" in needle:
            return set()
        digests = self.digests
        found: set[str] = set()
        i = blob.find(needle)
        while i != -1:
            k = bisect_right(starts, i) - 1
            found.add(digests[k])
            i = blob.find(needle, starts[k + 1] if k + 1 < len(starts) else len(blob))
        return found


def _joined(texts: list[str]) -> tuple[str, tuple[int, ...]]:
    starts = tuple(accumulate((len(t) + 1 for t in texts[:-1]), initial=0)) if texts else ()
    return "\0".join(texts), starts


class SearchWords:
    """Per repository graph: the lower-case words a filter is matched against."""

    def __init__(self, roots: RootItems | None = None) -> None:
        self.roots = roots if roots is not None else RootItems()
        self._cache: dict[str, tuple[Repository, tuple, RepoWords]] = {}

    def of(self, repo: Repository, rules: tuple[ProtectionRule, ...]) -> RepoWords:
        cached = self._cache.get(repo.name)
        if cached is not None and cached[0] is repo and cached[1] is rules:
            return cached[2]
        platforms: dict[str, list[str]] = {}
        for artifact in repo.artifacts.values():
            for child in artifact.children:
                if child.platform is not None:
                    platforms.setdefault(child.digest, []).append(str(child.platform))
        top = self.roots.set_of(repo)
        tags: dict[str, str] = {}
        values: dict[str, list[str]] = {}
        for digest, artifact in repo.artifacts.items():
            tags[digest] = "\n".join(artifact.tags).lower()
            parts = [repo.kind_of(digest), *platforms.get(digest, ())]
            if repo.is_shared(digest):
                parts.append("shared")
            if digest in top and not artifact.plain_tags and digest not in repo.subjects:
                parts.append("untagged")
            if repo.is_orphaned(digest):
                parts.append(ORPHANED)
            if rules and artifact.tags and first_protected(rules, repo.name, artifact.tags):
                parts.append("protected")
            for part in parts:
                values.setdefault(part.lower(), []).append(digest)
        result = RepoWords(tags, {value: tuple(dict.fromkeys(digests)) for value, digests in values.items()})
        self._cache[repo.name] = (repo, rules, result)
        return result


@dataclass
class FilterResult:
    """Per repository (digest sets, not (repository, digest) pairs: 100,000 tuples cost time)."""

    text: str
    matched: dict[str, set[str]] = field(default_factory=dict)
    visible: dict[str, set[str]] = field(default_factory=dict)  # matched and every row above them
    total: int = 0

    @cached_property
    def repositories(self) -> set[str]:
        """Repositories with a visible row (asked once per repository row and per find: kept)."""
        return {name for name, digests in self.visible.items() if digests}

    @property
    def count(self) -> int:
        return sum(len(d) for d in self.matched.values())

    def shows(self, key: ArtifactKey | None) -> bool:
        return key is not None and key[1] in self.visible.get(key[0], ())

    def matches(self, key: ArtifactKey | None) -> bool:
        return key is not None and key[1] in self.matched.get(key[0], ())

    def matched_keys(self) -> list[ArtifactKey]:
        return [(name, d) for name, digests in self.matched.items() for d in digests]


def _terms(text: str) -> list[tuple[str, str | None]]:
    """(word, digest hex prefix or None) for every word of the filter."""
    out: list[tuple[str, str | None]] = []
    for word in text.lower().split():
        algorithm, colon, rest = word.partition(":")
        if colon and algorithm in ("sha256", "sha512") and _HEX.match(rest or "0"):
            out.append(("", rest))  # only a digest can match sha256:<hex>
        elif _HEX.match(word) and len(word) >= MIN_BARE_HEX:
            out.append((word, word))
        else:
            out.append((word, None))
    return out


def apply_filter(registry: Registry, text: str, words: SearchWords, rules: tuple[ProtectionRule, ...] = ()) -> FilterResult:
    terms = _terms(text)
    result = FilterResult(text=text, total=registry.artifact_count)
    if not terms:
        return result
    for name, repo in registry.repositories.items():
        lowered = name.lower()
        rest = [(w, h) for w, h in terms if not (w and w in lowered)]  # words the name does not answer
        if not rest:
            result.matched[name] = set(repo.artifacts)
            result.visible[name] = result.matched[name]
            continue
        table = words.of(repo, rules)
        found: set[str] | None = None
        for word, hexp in rest:  # every word must match
            hits = table.containing(word) if word else set()
            if hexp is not None:
                hits |= table.starting(hexp)
            found = hits if found is None else found & hits
            if not found:
                break
        if not found:
            continue
        matched = found
        result.matched[name] = matched
        # The rows above the matches: every parent, and the subject of an accessory, up to the top.
        parents, subjects, present = repo.parents, repo.subjects, repo.artifacts
        visible = set(matched)
        level = matched
        while level:  # one level up at a time, looked up by map/chain: no Python loop per digest
            up = set(chain.from_iterable(filter(None, map(parents.get, level))))
            up.update(chain.from_iterable(filter(None, map(subjects.get, level))))
            up -= visible
            level = set(filter(present.__contains__, up))
            visible |= level
        result.visible[name] = visible
    return result
