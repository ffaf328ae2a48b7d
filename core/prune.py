"""Prune: a rule chooses targets among top-level artifacts; the planner decides everything else.

Candidates are top-level artifacts only (no index lists them, they are not accessories), plus
orphaned accessories when asked. Children and accessories never become targets on their own:
they go with their index or subject by the rules of docs/deletion-semantics.md, which is what
keeps multi-arch images whole (distribution's `--delete-untagged` deletes the untagged children
of tagged indexes). What a rule keeps is reported with a reason, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase, translate

from .dates import CreatedTimes
from .errors import BadInputError
from .gc_pause import gc_paused
from .media_types import REFERRERS
from .model import Artifact, Registry, Repository
from .plan import DeletionPlan, ResumedRef, RetainedEntry, RetainReason, TargetRef, trusted_builder
from .planner import plan_deletion
from .retention_policy import RetentionPolicy, RetentionRule

_AGE = re.compile(r"^(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """`90d`, `12h`, `2w` -> seconds."""
    match = _AGE.match(text.strip())
    if not match or int(match[1]) == 0:
        raise BadInputError(f"invalid age {text!r}: write a whole number and a unit, e.g. 90d, 12h, 2w")
    return int(match[1]) * _UNIT_SECONDS[match[2]]


@dataclass(frozen=True)
class PruneRule:
    """What `ocitree prune` and the TUI's "Mark by rule" select, as flags say it."""

    repos: tuple[str, ...] = ()  # globs; none: every repository
    tags: tuple[str, ...] = ()  # globs; none: `*`
    keep_last: int | None = None
    older_than: float | None = None  # seconds
    untagged: bool = False
    orphans: bool = False

    @property
    def selects_tagged(self) -> bool:
        # `--untagged` or `--orphans` alone clears leftovers; tagged images go only when a rule names them.
        return bool(self.tags) or self.keep_last is not None or self.older_than is not None

    def check(self) -> None:
        if not (self.selects_tagged or self.untagged or self.orphans):
            raise BadInputError("say what to prune: --keep-last, --older-than, --tags, --untagged, --orphans or --policy")
        if self.keep_last is not None and self.keep_last < 0:
            raise BadInputError("--keep-last takes a whole number, 0 or more")


def rule_key(rule: PruneRule | RetentionPolicy) -> str:
    """The rule as the write-ahead record keeps it: the same prune run again (globs in any order,
    on another day) finishes a run of it that was cut off."""
    if isinstance(rule, PruneRule):
        rule = replace(rule, repos=tuple(sorted(set(rule.repos))), tags=tuple(sorted(set(rule.tags))))
    return repr(rule)


@dataclass
class Selection:
    """Candidates a rule chose as targets, and those it kept with the reason."""

    targets: list[TargetRef]
    retained: list[RetainedEntry]


# A rule chooses among tens of thousands of validated artifacts.
_new_retained = trusted_builder(RetainedEntry)
_new_target = trusted_builder(TargetRef)


def _retained(artifact: Artifact, reason: RetainReason) -> RetainedEntry:
    return _new_retained(repository=artifact.repository, digest=artifact.digest, tags=list(artifact.tags), reason=reason)


def _target(artifact: Artifact) -> TargetRef:
    reference = f"{artifact.repository}:{artifact.tags[0]}" if artifact.tags else f"{artifact.repository}@{artifact.digest}"
    return _new_target(repository=artifact.repository, digest=artifact.digest, reference=reference)


def is_untagged_image(artifact: Artifact) -> bool:
    """An untagged image or index: what `--untagged` and the leftovers view offer (an untagged
    artifact of another kind, an ORAS upload say, is no build left behind)."""
    return not artifact.tags and artifact.kind in ("image", "index")


def orphaned_accessories(repo: Repository) -> Iterator[Artifact]:
    """Accessories none of whose subjects the repository holds (and that no index lists)."""
    arts = repo.artifacts
    for digest in repo.subjects:
        if digest in arts and repo.is_orphaned(digest):
            yield arts[digest]


def _newest_first(items: list[tuple[float, Artifact]]) -> list[tuple[float, Artifact]]:
    # Ties on the created time go to the greatest tag name, as `--keep-last` promises.
    return sorted(items, key=lambda pair: (pair[0], max(pair[1].tags) if pair[1].tags else ""), reverse=True)


def _repository_matches(name: str, globs: tuple[str, ...]) -> bool:
    return not globs or any(fnmatchcase(name, g) for g in globs)


def _any_glob(globs: tuple[str, ...]) -> Callable[[str], object]:
    """A test that a name matches one of `globs` as fnmatchcase matches: one expression, compiled
    once, for the tags of every candidate."""
    return re.compile("|".join(f"(?:{translate(g)})" for g in globs)).match


def select_by_rule(registry: Registry, rule: PruneRule, now: float, repositories: Iterable[str] | None = None) -> Selection:
    """Targets and retained candidates for flags-style rules (see `ocitree prune --help`)."""
    rule.check()
    targets: list[TargetRef] = []
    retained: list[RetainedEntry] = []
    tag_matches = _any_glob(rule.tags or ("*",))
    cutoff = now - rule.older_than if rule.older_than is not None else None
    names = registry.repositories if repositories is None else repositories
    for name in names:
        repo = registry.repositories[name]
        if not _repository_matches(name, rule.repos):
            continue
        times = CreatedTimes(repo)
        tagged: list[Artifact] = []
        by_age: list[Artifact] = []  # untagged and orphans: only --older-than applies
        for artifact in repo.top_level_in_order():
            if artifact.tags:
                if not rule.selects_tagged:
                    continue
                hits = [tag_matches(t) is not None for t in artifact.tags]
                if all(hits):
                    tagged.append(artifact)
                elif any(hits):
                    retained.append(_retained(artifact, "not_selected"))  # it also carries a tag outside --tags
            elif rule.untagged and is_untagged_image(artifact):
                by_age.append(artifact)
        if rule.orphans:
            by_age.extend(orphaned_accessories(repo))

        if rule.keep_last is None and cutoff is None:
            targets.extend(_target(a) for a in tagged)
        else:
            dated: list[tuple[float, Artifact]] = []
            for artifact in tagged:
                created = times.of(artifact.digest)
                if created is None:
                    retained.append(_retained(artifact, "no_date"))
                else:
                    dated.append((created, artifact))
            ordered = _newest_first(dated)
            keep = rule.keep_last if rule.keep_last is not None else 0
            for created, artifact in ordered[:keep]:
                retained.append(_retained(artifact, "keep_last"))
            for created, artifact in ordered[keep:]:
                if cutoff is not None and created >= cutoff:
                    retained.append(_retained(artifact, "newer"))
                else:
                    targets.append(_target(artifact))
        for artifact in by_age:
            if cutoff is None:
                targets.append(_target(artifact))
                continue
            created = times.of(artifact.digest)
            if created is None:
                retained.append(_retained(artifact, "no_date"))
            elif created >= cutoff:
                retained.append(_retained(artifact, "newer"))
            else:
                targets.append(_target(artifact))
    return Selection(targets, retained)


def select_by_policy(registry: Registry, policy: RetentionPolicy, now: float, repositories: Iterable[str] | None = None) -> Selection:
    """Harbor's retention: in a repository some rule's scope matches, what no rule retains goes."""
    targets: list[TargetRef] = []
    retained: list[RetainedEntry] = []
    names = registry.repositories if repositories is None else repositories
    for name in names:
        rules = [r for r in policy.rules if r.applies_to(name)]
        if not rules:
            continue  # Harbor takes no action on repositories no rule's scope names
        repo = registry.repositories[name]
        times = CreatedTimes(repo)
        candidates = list(repo.top_level_in_order())
        why: dict[str, RetainReason] = {}
        for rule in rules:
            for digest, reason in _rule_retains(rule, [a for a in candidates if rule.selects(a.tags)], times, now):
                why.setdefault(digest, reason)
        for artifact in candidates:
            retained_for = why.get(artifact.digest)
            if retained_for is None:
                targets.append(_target(artifact))
            else:
                retained.append(_retained(artifact, retained_for))
    return Selection(targets, retained)


def _rule_retains(rule: RetentionRule, selected: list[Artifact], times: CreatedTimes, now: float) -> Iterator[tuple[str, RetainReason]]:
    if rule.template == "always":
        for artifact in selected:
            yield artifact.digest, "not_selected"
        return
    dated: list[tuple[float, Artifact]] = []
    for artifact in selected:
        created = times.of(artifact.digest)
        if created is None:
            yield artifact.digest, "no_date"  # push time unknown: never guessed old
        else:
            dated.append((created, artifact))
    if rule.template == "latestPushedK":
        for _, artifact in _newest_first(dated)[: rule.count]:
            yield artifact.digest, "keep_last"
    else:  # nDaysSinceLastPush
        cutoff = now - rule.count * 86400
        for created, artifact in dated:
            if created >= cutoff:
                yield artifact.digest, "newer"


def plan_prune(registry: Registry, selection: Selection, protect: Iterable[str] = (),
               resumed: Iterable[ResumedRef] = ()) -> DeletionPlan:
    """One DeletionPlan for every selected target the rules allow.

    Unlike `delete`, a target the rules refuse (an index outside the plan lists it, or it or an
    accessory that would go with it carries a protected tag) is retained with the reason and the
    rest proceeds: the planner runs again without it. `resumed`: REFs of this rule that a cut-off
    run already deleted (core/interrupted.py), whose leftovers the rules re-check as in `delete`."""
    with gc_paused():  # a prune plans hundreds of thousands of entries and makes no garbage cycles
        return _plan_prune(registry, selection, list(protect), list(resumed))


def _plan_prune(registry: Registry, selection: Selection, protect: list[str], resumed: list[ResumedRef]) -> DeletionPlan:
    targets = list(selection.targets)
    retained = list(selection.retained)
    while True:
        plan = plan_deletion(registry, targets, protect, resumed)
        if plan.allowed:
            break
        dropped: dict[tuple[str, str], RetainReason] = {}
        owners: dict[tuple[str, str], tuple[str, str]] = {}
        for r in resumed:  # a resumed REF answers for itself and for what it left (unless a target)
            owners.update(((r.repository, d), (r.repository, r.digest)) for d in [*r.leftovers, r.digest])
        owners.update(((t.repository, t.digest), (t.repository, t.digest)) for t in targets)
        for refusal in plan.refusals:
            reason: RetainReason = "referenced" if refusal.reason == "referenced" else "protected"
            repo = registry.repositories[refusal.repository]
            for key in _responsible_targets(repo, refusal.digest, owners):
                dropped.setdefault(key, reason)
        if not dropped:  # cannot happen: every refusal traces back to a target or a resumed REF
            raise AssertionError("prune: a refusal that no target explains")
        for key, reason in dropped.items():
            artifact = registry.repositories[key[0]].artifacts.get(key[1])
            if artifact is not None:
                retained.append(_retained(artifact, reason))
            else:  # a resumed REF, deleted before: what it left stays (a protected tag among it)
                retained.append(_new_retained(repository=key[0], digest=key[1], tags=[], reason=reason))
        targets = [t for t in targets if (t.repository, t.digest) not in dropped]
        resumed = [r for r in resumed if (r.repository, r.digest) not in dropped]
    plan.retained = retained
    return plan


def _responsible_targets(repo: Repository, digest: str, owners: dict[tuple[str, str], tuple[str, str]]) -> list[tuple[str, str]]:
    """The targets (or resumed REFs) whose deletion reaches `digest`, walking up through parents
    and subjects (and from a fallback referrers index the deletion empties, to what it lists), in
    the order found: a set's order changed with the hash seed, and with it the order of
    `retained` in the JSON. `owners`: each target, and what answers for it, by (repository, digest)."""
    found: dict[tuple[str, str], None] = {}
    seen = {digest}
    stack = [digest]
    while stack:
        d = stack.pop()
        owner = owners.get((repo.name, d))
        if owner is not None:
            found[owner] = None
            continue
        ups = [*repo.parents_of(d), *repo.subjects.get(d, ())]
        if repo.accessory_kinds.get(d) == REFERRERS:  # an emptied fallback referrers index goes with what it lists
            ups += [c.digest for c in repo.artifacts[d].children]
        for up in ups:
            if up not in seen:
                seen.add(up)
                stack.append(up)
    return list(found)
