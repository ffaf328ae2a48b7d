"""The planner: registry state and targets in, one DeletionPlan out. Pure: it changes nothing.

It implements docs/deletion-semantics.md. Cost is proportional to the affected subtree:
every graph lookup is a dict access, and only artifacts reached from the targets are visited.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

from .model import Artifact, Registry, Repository, is_fallback_tag
from .plan import (DeleteEntry, DeletionPlan, KeepEntry, MissingEntry, ParentRef, ReclaimInfo, Refusal, ResumedRef,
                   RewriteEntry, TargetRef)
from .protection import ProtectionRule, parse_rules, protected_tags
from .reclaim import reclaimable
from .references import Reference, parse_reference

REFERRERS = "referrers"  # the accessory kind of an OCI 1.1 fallback referrers index (core.model)


def resolve_targets(registry: Registry, refs: Iterable[str | Reference]) -> list[TargetRef]:
    """Turn REF strings into targets; raises UnknownReferenceError for what the source lacks."""
    targets: list[TargetRef] = []
    seen: set[tuple[str, str]] = set()
    for ref in refs:
        parsed = parse_reference(ref) if isinstance(ref, str) else ref
        artifact = registry.resolve(parsed)
        key = (artifact.repository, artifact.digest)
        if key not in seen:
            seen.add(key)
            targets.append(TargetRef(repository=artifact.repository, digest=artifact.digest, reference=str(parsed)))
    return targets


def plan_deletion(
    registry: Registry, targets: Sequence[TargetRef], protect: Iterable[str] = (), resumed: Sequence[ResumedRef] = ()
) -> DeletionPlan:
    """`resumed`: REFs whose artifact a cut-off run already deleted (see core/interrupted.py)."""
    patterns = list(dict.fromkeys([*protect, *registry.protect]))
    rules = parse_rules(patterns)
    unique: dict[tuple[str, str], TargetRef] = {}
    for t in targets:  # an artifact named twice is one target, as in resolve_targets
        unique.setdefault((t.repository, t.digest), t)
    targets = list(unique.values())
    plan = DeletionPlan(source=registry.source, allowed=True, targets=targets, resumed=list(resumed), protect=patterns)
    by_repo: dict[str, list[str]] = {}
    for t in targets:
        by_repo.setdefault(t.repository, []).append(t.digest)
    resumed_by_repo: dict[str, list[ResumedRef]] = {}
    for r in resumed:
        if r.repository in registry.repositories:  # a repository gone since holds no leftovers
            resumed_by_repo.setdefault(r.repository, []).append(r)
            by_repo.setdefault(r.repository, [])
    chosen: dict[str, list[str]] = {}
    for name, digests in by_repo.items():
        chosen[name] = _plan_repository(registry.repositories[name], digests, rules, plan, resumed_by_repo.get(name, []))
    scope = registry.blob_scope
    plan.reclaim = ReclaimInfo(by=scope.reclaim, exact=scope.exact, counted_across=scope.counted_across,
                               caveat=scope.caveat)
    collector = getattr(registry, "garbage_collect_after", None)  # a registry's storage read directly
    if not plan.refusals:
        for w in plan.rewrite:  # the old referrers index goes once rewritten (the new one is what stays)
            if w.tags and all(is_fallback_tag(t) for t in w.tags):
                chosen[w.repository].append(w.digest)
        if collector is None:
            plan.reclaimable_bytes, plan.reclaim.notes = reclaimable(registry, chosen)
        else:  # it knows every blob file and every manifest that marks one: exact
            plan.garbage_collect = collector((name, d) for name, digests in chosen.items() for d in digests)
            plan.reclaimable_bytes = plan.garbage_collect.frees - plan.garbage_collect.reclaimable_now
            plan.reclaim = ReclaimInfo(by="gc", exact=True,
                                       counted_across="every manifest the registry's storage links, read directly")
    if plan.refusals:
        # Rule 7: refused in full. A refused plan lists only its reasons, never a partial outcome.
        plan.allowed = False
        plan.delete, plan.keep, plan.missing, plan.tags_removed, plan.reclaimable_bytes = [], [], [], [], 0
        plan.rewrite = []
    return plan


def _parent_refs(repo: Repository, digests: Iterable[str]) -> list[ParentRef]:
    arts = repo.artifacts
    return [ParentRef.model_construct(digest=d, tags=list(arts[d].tags) if d in arts else []) for d in digests]


def _resumed_roots(repo: Repository, resumed: ResumedRef) -> list[str]:
    """The leftovers still present that no other present leftover lists or describes: those
    the deleted artifact brought in directly. The cascade from them reaches the rest."""
    arts = repo.artifacts
    present = [d for d in dict.fromkeys(resumed.leftovers) if d in arts and d != resumed.digest]
    left = set(present)
    return [
        d for d in present
        if not any(p in left for p in repo.parents.get(d, ())) and not any(s in left for s in repo.subjects.get(d, ()))
    ]


def _plan_repository(
    repo: Repository, targets: list[str], rules: tuple[ProtectionRule, ...], plan: DeletionPlan, resumed: Sequence[ResumedRef] = ()
) -> list[str]:
    """Adds this repository's part to `plan`; returns the digests it deletes."""
    arts = repo.artifacts
    parents = repo.parents
    accessories = repo.accessories
    subjects = repo.subjects
    kinds = repo.accessory_kinds

    def real_parents(digest: str) -> list[str]:
        """Parents that keep an artifact: an OCI 1.1 fallback referrers index is bookkeeping, not one."""
        return [p for p in parents.get(digest, ()) if kinds.get(p) != REFERRERS]

    chosen: dict[str, tuple[str, str | None]] = {}  # digest -> (why, via), in discovery order
    remaining: dict[str, int] = {}  # parents not (yet) being deleted, for children touched
    touched: dict[str, str] = {}  # child or accessory reached but not chosen -> via
    queue: deque[str] = deque()

    def choose(digest: str, why: str, via: str | None) -> None:
        chosen[digest] = (why, via)
        queue.append(digest)

    for digest in targets:
        if digest not in chosen:
            choose(digest, "target", None)

    # A cut-off run's leftovers hang under an artifact it already deleted: each is looked at as a
    # child (or accessory) of that artifact would be, so a tag, a parent or a protected tag it
    # carries now counts exactly as in a fresh plan. Its deleted parent is no longer among its parents.
    gone = {r.digest for r in resumed} | {d for r in resumed for d in r.leftovers if d not in arts}
    resumed_roots: set[str] = set()
    for r in resumed:
        for c in _resumed_roots(repo, r):
            resumed_roots.add(c)
            if c in chosen or c in touched:
                continue
            touched[c] = r.digest
            left = remaining.setdefault(c, len(parents.get(c, ())))
            if left:
                continue
            subject = next((s for s in subjects.get(c, ()) if s not in arts or s in chosen), None)
            if subject is not None:
                choose(c, "accessory", subject)  # rule 5: it goes with its (deleted) subject, tags and all
            elif not arts[c].tags:
                choose(c, "child", r.digest)  # rule 3

    while queue:
        digest = queue.popleft()
        artifact = arts[digest]
        bookkeeping = kinds.get(digest) == REFERRERS  # its own listing was never counted
        seen_children: set[str] = set()
        for child in artifact.children:
            c = child.digest
            if c in seen_children:
                continue
            seen_children.add(c)
            if c not in arts:
                plan.missing.append(MissingEntry.model_construct(repository=repo.name, digest=c, parent=digest))
                continue
            left = remaining[c] if c in remaining else len(real_parents(c))
            if not bookkeeping:
                left -= 1  # rule 4: the reference being removed does not count
            remaining[c] = left
            if c in chosen:
                continue
            touched.setdefault(c, digest)
            if left == 0:
                c_art = arts[c]
                if not c_art.tags:
                    choose(c, "child", digest)  # rule 3
                elif any(s in chosen or s in gone for s in subjects.get(c, ())):
                    choose(c, "accessory", digest)  # rule 5: a tagged accessory goes with its subject
        for acc in accessories.get(digest, ()):
            if acc in chosen or acc not in arts:
                continue
            touched.setdefault(acc, digest)
            if acc in remaining:
                left = remaining[acc]
            else:
                left = remaining[acc] = len(real_parents(acc))
            if left == 0:  # rule 5: an accessory an index lists is kept
                choose(acc, "accessory", digest)

    rewrites = _referrers_rewrites(repo, chosen)
    # Rule 2: a target that an index outside this deletion still lists is refused.
    for digest in targets:
        holders = [p for p in real_parents(digest) if p not in chosen]
        if holders:
            plan.refusals.append(
                Refusal(
                    repository=repo.name,
                    digest=digest,
                    reason="referenced",
                    parents=_parent_refs(repo, holders),
                    tags=list(arts[digest].tags),
                )
            )
    # Rule 6: nothing being deleted may carry a protected tag.
    if rules:
        for digest in chosen:
            for tag, rule in protected_tags(rules, repo.name, arts[digest].tags):
                plan.refusals.append(
                    Refusal(
                        repository=repo.name,
                        digest=digest,
                        reason="protected_tag",
                        tag=tag,
                        rule=rule,
                        tags=list(arts[digest].tags),
                    )
                )

    for digest in _execution_order(repo, chosen):
        why, via = chosen[digest]
        artifact = arts[digest]
        plan.delete.append(
            # model_construct: the planner builds these from validated data, and a prune plans
            # hundreds of thousands of them (validation was a third of its time).
            DeleteEntry.model_construct(
                repository=repo.name,
                digest=digest,
                media_type=artifact.media_type,
                kind=repo.accessory_kinds.get(digest, artifact.kind) if digest in subjects else artifact.kind,
                tags=list(artifact.tags),
                why=why,
                via=via,
                size=artifact.size,
                platform=_platform(arts.get(via) if via else None, digest),
            )
        )
        plan.tags_removed.extend(f"{repo.name}:{t}" for t in artifact.tags)

    plan.rewrite.extend(rewrites)
    for digest, via in touched.items():
        if digest in chosen:
            continue
        artifact = arts[digest]
        holders = [p for p in real_parents(digest) if p not in chosen]
        if holders:
            is_child = via in parents.get(digest, ()) or (digest in resumed_roots and via in gone and digest not in subjects)
            reason = "shared" if is_child else "accessory_listed"
        else:
            reason = "tagged"
        plan.keep.append(
            KeepEntry.model_construct(
                repository=repo.name,
                digest=digest,
                reason=reason,
                parents=_parent_refs(repo, holders),
                tags=list(artifact.tags),
                via=via,
                platform=_platform(arts.get(via), digest),
            )
        )

    return list(chosen)


def _referrers_rewrites(repo: Repository, chosen: dict[str, tuple[str, str | None]]) -> list[RewriteEntry]:
    """Fallback referrers indexes that list what goes: rewritten without it, or deleted (added to
    `chosen`) when nothing would be left in them, as regctl does."""
    kinds = repo.accessory_kinds
    listing: dict[str, list[str]] = {}
    for digest in chosen:
        for p in repo.parents.get(digest, ()):
            if p not in chosen and kinds.get(p) == REFERRERS:
                listing.setdefault(p, []).append(digest)
    rewrites = []
    for index, removed in listing.items():
        rest = {c.digest for c in repo.artifacts[index].children if c.digest not in chosen}
        if rest:
            rewrites.append(RewriteEntry(repository=repo.name, digest=index, tags=list(repo.artifacts[index].tags),
                                         remove=removed, remaining=len(rest)))
        else:
            chosen[index] = ("referrers", removed[-1])
    return rewrites


def _platform(parent: Artifact | None, digest: str) -> str | None:
    if parent is None:
        return None
    for child in parent.children:
        if child.digest == digest and child.platform is not None:
            return str(child.platform)
    return None


def _execution_order(repo: Repository, chosen: dict[str, tuple[str, str | None]]) -> list[str]:
    """Top-down: an index before its children, a subject before its accessories.

    A run cut short then leaves no surviving artifact pointing at a deleted one."""
    arts = repo.artifacts
    indegree = dict.fromkeys(chosen, 0)
    edges: dict[str, list[str]] = {}
    for digest in chosen:
        outs = [c.digest for c in arts[digest].children if c.digest in indegree]
        outs += [a for a in repo.accessories.get(digest, ()) if a in indegree]
        outs = list(dict.fromkeys(outs))
        edges[digest] = outs
        for o in outs:
            indegree[o] += 1
    ready = deque(d for d in chosen if indegree[d] == 0)
    order: list[str] = []
    while ready:
        digest = ready.popleft()
        order.append(digest)
        for o in edges[digest]:
            indegree[o] -= 1
            if indegree[o] == 0:
                ready.append(o)
    if len(order) < len(chosen):  # only a hand-made subject loop can get here
        placed = set(order)
        order.extend(d for d in chosen if d not in placed)
    return order
