"""Harbor's tag retention policy, read from the JSON of `GET /api/v2/retentions/{id}`.

The mapping to ocitree (docs/deletion-semantics.md, "Prune and Harbor retention policies"):
rules are OR-combined; in a repository that some rule's scope matches, every top-level artifact
that no rule retains goes; children and accessories go with them by the deletion rules. Push
time is the created time (Harbor records pushes; a plain registry does not). Selectors follow
Harbor's doublestar selector exactly, including its `untagged` extra and its defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from .doublestar import compile_doublestar, doublestar_match
from .errors import BadInputError
from .printable import printable

Template = Literal["latestPushedK", "nDaysSinceLastPush", "always"]
_COUNTED: dict[str, str] = {"latestPushedK": "count", "nDaysSinceLastPush": "days"}
_NEEDS_PULLS = ("latestPulledN", "nDaysSinceLastPull", "latestActiveK")


@dataclass(frozen=True)
class TagSelector:
    decoration: Literal["matches", "excludes"]
    pattern: str
    untagged: bool

    def selects(self, tags: list[str]) -> bool:
        # Harbor: a tagged artifact is selected by any tag; an untagged one by the `untagged` extra.
        if not tags:
            return self.untagged if self.decoration == "matches" else not self.untagged
        if self.decoration == "matches":
            return any(doublestar_match(self.pattern, t) for t in tags)
        return any(not doublestar_match(self.pattern, t) for t in tags)


@dataclass(frozen=True)
class RepositorySelector:
    decoration: Literal["repoMatches", "repoExcludes"]
    pattern: str

    def selects(self, repository: str) -> bool:
        return doublestar_match(self.pattern, repository) != (self.decoration == "repoExcludes")


@dataclass(frozen=True)
class RetentionRule:
    template: Template
    count: int  # K artifacts or N days; unused by `always`
    tag_selectors: tuple[TagSelector, ...]
    repository_selectors: tuple[RepositorySelector, ...]

    def applies_to(self, repository: str) -> bool:
        return all(s.selects(repository) for s in self.repository_selectors)

    def selects(self, tags: list[str]) -> bool:
        return all(s.selects(tags) for s in self.tag_selectors)


@dataclass(frozen=True)
class RetentionPolicy:
    rules: tuple[RetentionRule, ...]


def _fail(where: str, what: str) -> BadInputError:
    return BadInputError(f"retention policy {printable(where)}: {what}")


def _pattern(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, "pattern must be a string")
    if value:
        compile_doublestar(value)  # a malformed pattern is bad input now, not at match time
    return value


def _untagged_extra(extras: object, default: bool) -> bool:
    if extras in (None, ""):
        return default
    if isinstance(extras, str):
        try:
            extras = json.loads(extras)
        except ValueError:
            return default  # Harbor ignores extras it cannot read
    untagged = extras.get("untagged") if isinstance(extras, dict) else None
    return untagged if isinstance(untagged, bool) else default


def _tag_selector(raw: object, where: str) -> list[TagSelector]:
    # Harbor's UI stores a list of names `a,b` as the doublestar alternative `{a,b}`.
    if not isinstance(raw, dict):
        raise _fail(where, "a tag selector must be an object")
    kind = raw.get("kind", "doublestar")
    if kind != "doublestar":
        raise _fail(where, f"tag selector kind {printable(str(kind))!r} is not supported (only doublestar)")
    decoration = raw.get("decoration", "matches")
    if decoration not in ("matches", "excludes"):
        raise _fail(where, f"tag selector decoration must be matches or excludes, not {printable(str(decoration))!r}")
    pattern = _pattern(raw.get("pattern", ""), where)
    untagged = _untagged_extra(raw.get("extras"), decoration == "matches")
    return [TagSelector(decoration, pattern, untagged)]


def _repository_selectors(raw: object, where: str) -> tuple[RepositorySelector, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise _fail(where, "scope_selectors must be an object")
    selectors = []
    for i, sel in enumerate(raw.get("repository") or []):
        here = f"{where}.scope_selectors.repository[{i}]"
        if not isinstance(sel, dict):
            raise _fail(here, "must be an object")
        if sel.get("kind", "doublestar") != "doublestar":
            raise _fail(here, "only doublestar selectors are supported")
        decoration = sel.get("decoration", "repoMatches")
        if decoration not in ("repoMatches", "repoExcludes"):
            raise _fail(here, f"decoration must be repoMatches or repoExcludes, not {printable(str(decoration))!r}")
        pattern = _pattern(sel.get("pattern", ""), here)
        selectors.append(RepositorySelector(decoration, pattern))
    return tuple(selectors)


def _rule(raw: object, where: str) -> RetentionRule | None:
    if not isinstance(raw, dict):
        raise _fail(where, "a rule must be an object")
    if raw.get("disabled") is True:
        return None
    action = raw.get("action", "retain")
    if action != "retain":
        raise _fail(where, f"action {printable(str(action))!r} is not supported (only retain)")
    template = raw.get("template")
    if template in _NEEDS_PULLS:
        raise _fail(where, f"template {template} needs pull times, which no registry API exposes; use latestPushedK or nDaysSinceLastPush")
    if template not in ("latestPushedK", "nDaysSinceLastPush", "always"):
        raise _fail(where, f"unknown template {printable(str(template))!r} (supported: latestPushedK, nDaysSinceLastPush, always)")
    count = 0
    if template in _COUNTED:
        params = raw.get("params") or {}
        value = params.get(template) if isinstance(params, dict) else None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _fail(where, f"params.{template} must be a whole number of {_COUNTED[template]}, 0 or more")
        count = value
    selectors: list[TagSelector] = []
    for i, sel in enumerate(raw.get("tag_selectors") or []):
        selectors.extend(_tag_selector(sel, f"{where}.tag_selectors[{i}]"))
    return RetentionRule(template, count, tuple(selectors), _repository_selectors(raw.get("scope_selectors"), where))


def parse_policy(doc: object) -> RetentionPolicy:
    """A policy object (`{"algorithm": "or", "rules": [...]}`) or a bare list of rules."""
    raw_rules = doc.get("rules") if isinstance(doc, dict) else doc
    if isinstance(doc, dict) and doc.get("algorithm", "or") != "or":
        raise _fail("algorithm", "only 'or' is supported, as in Harbor")
    if not isinstance(raw_rules, list):
        raise _fail("rules", "expected a list of rules (the JSON of GET /api/v2/retentions/{id})")
    rules = [r for i, raw in enumerate(raw_rules) if (r := _rule(raw, f"rules[{i}]")) is not None]
    if not rules:
        raise _fail("rules", "no enabled rule: a policy without rules would delete every artifact of no repository")
    return RetentionPolicy(tuple(rules))


def load_policy(path: str) -> RetentionPolicy:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as exc:
        raise BadInputError(f"cannot read policy file {printable(path)}: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise BadInputError(f"policy file {printable(path)} is not valid JSON: {printable(str(exc))}") from None
    return parse_policy(doc)
