"""Protection rules (Harbor's immutable tags): `TAG_GLOB` or `REPOSITORY_GLOB:TAG_GLOB`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from .errors import BadInputError


@dataclass(frozen=True, slots=True)
class ProtectionRule:
    pattern: str
    repository_glob: str
    tag_glob: str

    @classmethod
    def parse(cls, pattern: str) -> ProtectionRule:
        if not pattern or pattern.strip() != pattern:
            raise BadInputError(f"invalid protection pattern {pattern!r}: write TAG_GLOB (v*) or REPOSITORY_GLOB:TAG_GLOB")
        repo_glob, sep, tag_glob = pattern.rpartition(":")
        if not sep:
            return cls(pattern, "*", pattern)
        if not repo_glob or not tag_glob:
            raise BadInputError(f"invalid protection pattern {pattern!r}: both sides of ':' must be non-empty")
        return cls(pattern, repo_glob, tag_glob)

    def matches(self, repository: str, tag: str) -> bool:
        return fnmatchcase(tag, self.tag_glob) and fnmatchcase(repository, self.repository_glob)


def parse_rules(patterns: Iterable[str]) -> tuple[ProtectionRule, ...]:
    seen: dict[str, ProtectionRule] = {}
    for p in patterns:
        if p not in seen:
            seen[p] = ProtectionRule.parse(p)
    return tuple(seen.values())


def protected_tags(rules: tuple[ProtectionRule, ...], repository: str, tags: Iterable[str]) -> list[tuple[str, str]]:
    """(tag, first matching pattern) for every protected tag."""
    hits = []
    for tag in tags:
        for rule in rules:
            if rule.matches(repository, tag):
                hits.append((tag, rule.pattern))
                break
    return hits


def first_protected(rules: tuple[ProtectionRule, ...], repository: str, tags: Iterable[str]) -> tuple[str, str] | None:
    """(tag, pattern) of the first protected tag, or None."""
    hits = protected_tags(rules, repository, tags)
    return hits[0] if hits else None
