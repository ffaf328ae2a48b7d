"""The planner: registry state and targets in, one DeletionPlan out. Pure: it changes nothing.

It implements docs/deletion-semantics.md, one step or guard per rule, each named by its number:
`plan_deletion` holds rule 7 across repositories, `_RepositoryPlan` the other rules within one.
Cost is proportional to the affected subtree: every graph lookup is a dict access, and only
artifacts reached from the targets are visited.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, filterfalse

from .cancellation import PlanCancelled, raise_if_stopped, stop_flag
from .media_types import REFERRERS  # the accessory kind of an OCI 1.1 fallback referrers index (core.tag_schemes)
from .model import Artifact, Registry, Repository, is_fallback_tag
from .plan import (DeleteEntries, DeleteRow, DeleteWhy, DeletionPlan, KeepEntry, KeepReason, MissingEntry, ParentRef, ReclaimInfo,
                   Refusal, ResumedRef, RewriteEntry, TargetRef, trusted_builder)
from .protection import ProtectionRule, parse_rules, protected_tags
from .reclaim import reclaimable
from .references import Reference, parse_reference

# The planner builds its entries from the model's validated data, hundreds of thousands in a prune.
_new_keep_entry = trusted_builder(KeepEntry)
_new_missing_entry = trusted_builder(MissingEntry)
_new_parent_ref = trusted_builder(ParentRef)


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
    patterns = registry.protection_patterns(protect)
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
        raise_if_stopped()  # between repositories: a prune's hundred take seconds in all
        chosen[name] = _RepositoryPlan(registry.repositories[name], plan).run(digests, rules, resumed_by_repo.get(name, []))
    scope = registry.blob_scope
    plan.reclaim = ReclaimInfo(by=scope.reclaim, exact=scope.exact, counted_across=scope.counted_across,
                               caveat=scope.caveat)
    collector = getattr(registry, "garbage_collect_after", None)  # a registry's storage read directly
    raise_if_stopped()
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
        plan.delete, plan.keep, plan.missing, plan.tags_removed, plan.reclaimable_bytes = DeleteEntries(), [], [], [], 0
        plan.rewrite = []
    return plan


class _RepositoryPlan:
    """One repository's part of a plan. `run` takes the rules' steps in order; each step or guard
    names its rule of docs/deletion-semantics.md, and decides there what goes (with why) or stays
    (with the reason)."""

    __slots__ = ("repo", "plan", "arts", "parents", "subjects", "kinds", "referrers", "chosen", "remaining", "kept",
                 "queue", "gone", "may_be_tagged")

    def __init__(self, repo: Repository, plan: DeletionPlan) -> None:
        self.repo = repo
        self.plan = plan
        self.arts = repo.artifacts
        self.parents = repo.parents
        self.subjects = repo.subjects
        self.kinds = repo.accessory_kinds
        # Fallback referrers indexes: bookkeeping, never a parent that keeps what it lists.
        self.referrers = {d for d, kind in self.kinds.items() if kind == REFERRERS}
        self.chosen: dict[str, tuple[DeleteWhy, str | None]] = {}  # digest -> (why, via), in discovery order
        #: what is chosen but as an untagged child (rule 3's loop), in the same order: only these
        #: can carry a tag, and rule 6 and the tags removed read them, not all of a prune's 805k
        self.may_be_tagged: list[str] = []
        self.remaining: dict[str, int] = {}  # parents not (yet) being deleted, for children looked at (rule 4)
        self.kept: dict[str, tuple[str, KeepReason]] = {}  # reached but staying -> (via, reason), first reached first
        self.queue: deque[str] = deque()  # chosen that list or have something, not looked at yet
        self.gone: set[str] = set()  # deleted by a cut-off run being finished

    def run(self, targets: list[str], rules: tuple[ProtectionRule, ...], resumed: Sequence[ResumedRef]) -> list[str]:
        """Adds this repository's part to the plan; returns the digests it deletes."""
        self._rule1_targets(targets)  # rule 1: what the user named goes
        self._finish_cut_off_run(resumed)  # rules 3 and 5 for what a cut-off run left under a deleted REF
        queue, arts, accessories = self.queue, self.arts, self.repo.accessories
        stop, looked = stop_flag(), 0
        while queue:  # each artifact that goes and lists or has something, in the order found
            looked += 1
            if stop is not None and not looked % 256 and stop.is_set():  # one repository can hold a million
                raise PlanCancelled()
            digest = queue.popleft()
            if arts[digest].children:
                self._rule3_children(digest)  # rule 3: the index cascade (with rules 4, 5 and 8)
            if digest in accessories:
                self._rule5_accessories(digest)  # rule 5: accessories go with their subject
        rewrites = self._referrers_rewrites()  # fallback referrers indexes are bookkeeping
        self._rule2_refuse_referenced(targets)  # rule 2: a target an index still lists is refused
        self._rule6_refuse_protected(rules)  # rule 6: nothing that goes may carry a protected tag
        if not self.plan.refusals:  # rule 7: a refused plan lists only its reasons; a prune then plans again
            self._write_entries(rewrites)  # the safe order: top-down
        return list(self.chosen)

    # Decisions ------------------------------------------------------------------------------

    def _delete(self, digest: str, why: DeleteWhy, via: str | None) -> None:
        self.chosen[digest] = (why, via)
        self.may_be_tagged.append(digest)
        if digest in self.kept:  # a later parent or subject can take what an earlier one left
            del self.kept[digest]
        # Rules 3 and 5 look at what it lists or has, later; most of what goes has neither (an image
        # an index brought), found here while its artifact is at hand.
        if self.arts[digest].children or digest in self.repo.accessories:
            self.queue.append(digest)

    def _keep(self, digest: str, via: str, reason: KeepReason) -> None:
        """`digest` stays, for now: each parent or subject that goes looks again, and the last look
        stands. The first to reach it is its `via` and names what holds it (shared or
        accessory_listed); a later look changes that only when the last other parent went in this
        deletion too (rule 4), so that its tags alone keep it."""
        first = self.kept.get(digest)
        if first is None:
            self.kept[digest] = (via, reason)
        elif reason == "tagged":
            self.kept[digest] = (first[0], reason)

    def _real_parents(self, digest: str) -> list[str]:
        """Parents that keep an artifact: an OCI 1.1 fallback referrers index is bookkeeping, not one."""
        parents = self.parents.get(digest, [])
        referrers = self.referrers
        return [p for p in parents if p not in referrers] if referrers else parents

    def _holders(self, digest: str) -> list[str]:
        """The real parents outside this deletion."""
        chosen = self.chosen
        return [p for p in self._real_parents(digest) if p not in chosen]

    def _parents_left(self, digest: str) -> int:
        """How many real parents are not (yet) being deleted, counted on first sight."""
        left = self.remaining.get(digest)
        if left is None:  # without referrers indexes every parent is real: no list to filter
            parents = self._real_parents(digest) if self.referrers else self.parents.get(digest, ())
            left = self.remaining[digest] = len(parents)
        return left

    # Steps, in the order `run` takes them ------------------------------------------------------

    def _rule1_targets(self, targets: list[str]) -> None:
        """Rule 1: each target goes, with all of its tags (rule 2 may refuse it below)."""
        for digest in targets:
            if digest not in self.chosen:
                self._delete(digest, "target", None)

    def _finish_cut_off_run(self, resumed: Sequence[ResumedRef]) -> None:
        """Beyond Harbor, finishing a cut-off run: its leftovers hang under an artifact it already
        deleted. Each is looked at as a child (or accessory) of that artifact would be, so a tag, a
        parent or a protected tag it carries now counts as in a fresh plan (rules 2, 3, 5, 6)."""
        arts = self.arts
        self.gone = {r.digest for r in resumed} | {d for r in resumed for d in r.leftovers if d not in arts}
        for r in resumed:
            for c in _resumed_roots(self.repo, r):
                if c in self.chosen or c in self.kept:
                    continue
                listed: KeepReason = "accessory_listed" if c in self.subjects else "shared"
                # Rules 2 and 3: an index still lists it (its deleted parent no longer does).
                if self._parents_left(c):
                    self._keep(c, r.digest, listed)
                    continue
                subject = next((s for s in self.subjects.get(c, ()) if s not in arts or s in self.chosen), None)
                # Rule 5: an accessory goes with its (deleted) subject, tags and all.
                if subject is not None:
                    self._delete(c, "accessory", subject)
                # Rule 3: an untagged child goes.
                elif not arts[c].tags:
                    self._delete(c, "child", r.digest)
                # Rule 3: a tagged child stays.
                else:
                    self._keep(c, r.digest, "tagged")

    def _rule3_children(self, digest: str) -> None:
        """Rule 3, index cascade (with rules 4, 5 and 8): each child of `digest` goes once no
        other parent lists it, unless it has tags of its own."""
        arts, chosen, subjects, gone, remaining = self.arts, self.chosen, self.subjects, self.gone, self.remaining
        children = arts[digest].children
        if not children:
            return
        # Beyond Harbor: a fallback referrers index is bookkeeping; its listing was never counted.
        counted = 0 if digest in self.referrers else 1
        # A prune's hundreds of thousands of children mostly take the untagged branch: _parents_left
        # and _delete are written out for it, and its children share one (why, via).
        parents, referrers, kept, queue, accessories = self.parents, self.referrers, self.kept, self.queue, self.repo.accessories
        as_child: tuple[DeleteWhy, str | None] = ("child", digest)
        for c in dict.fromkeys([child.digest for child in children]):  # each child once
            artifact = arts.get(c)
            # Rule 8: a missing child is reported, not an error.
            if artifact is None:
                self.plan.missing.append(_new_missing_entry(repository=self.repo.name, digest=c, parent=digest))
                continue
            # Rule 4: the reference being removed does not count.
            left = remaining.get(c)
            if left is None:  # first sight (_parents_left)
                left = len(self._real_parents(c)) if referrers else len(parents.get(c, ()))
            left -= counted
            if c in chosen:
                remaining[c] = left
                continue
            # Rule 3: an untagged child goes (once no other parent lists it; what goes is not
            # looked at as a child again, so its count is not kept).
            if not left and not artifact.tags:
                chosen[c] = as_child  # _delete
                if c in kept:
                    del kept[c]
                if artifact.children or c in accessories:
                    queue.append(c)
                continue
            remaining[c] = left
            # Rule 3: a child another parent still lists stays.
            if left:
                self._keep(c, digest, "shared")
            # Rule 5: a tagged accessory goes with its subject.
            elif any(s in chosen or s in gone for s in subjects.get(c, ())):
                self._delete(c, "accessory", digest)
            # Rule 3: a child with tags of its own stays.
            else:
                self._keep(c, digest, "tagged")

    def _rule5_accessories(self, digest: str) -> None:
        """Rule 5: the accessories of `digest` go with it, with their own tags (recursively)."""
        arts, chosen = self.arts, self.chosen
        accessories = self.repo.accessories.get(digest)
        if not accessories:
            return
        for acc in accessories:
            if acc in chosen or acc not in arts:
                continue
            # Rule 5: an accessory an index lists is kept.
            if self._parents_left(acc):
                self._keep(acc, digest, "accessory_listed")
            else:
                self._delete(acc, "accessory", digest)

    def _referrers_rewrites(self) -> list[RewriteEntry]:
        """Beyond Harbor: fallback referrers indexes that list what goes are rewritten without it,
        or deleted when nothing would be left in them, as regctl does."""
        repo, chosen, referrers, parents = self.repo, self.chosen, self.referrers, self.parents
        if not referrers:
            return []
        listing: dict[str, list[str]] = {}
        for digest in chosen:
            for p in parents.get(digest, ()):
                if p not in chosen and p in referrers:
                    listing.setdefault(p, []).append(digest)
        rewrites = []
        for index, removed in listing.items():
            rest = {c.digest for c in self.arts[index].children if c.digest not in chosen}
            if rest:
                rewrites.append(RewriteEntry(repository=repo.name, digest=index, tags=list(self.arts[index].tags),
                                             remove=removed, remaining=len(rest)))
            else:
                chosen[index] = ("referrers", removed[-1])
                self.may_be_tagged.append(index)
                self.kept.pop(index, None)
        return rewrites

    def _rule2_refuse_referenced(self, targets: list[str]) -> None:
        """Rule 2: a target that an index outside this deletion still lists is refused."""
        for digest in targets:
            holders = self._holders(digest)
            if holders:
                self.plan.refusals.append(Refusal(repository=self.repo.name, digest=digest, reason="referenced",
                                                  parents=_parent_refs(self.repo, holders),
                                                  tags=list(self.arts[digest].tags)))

    def _rule6_refuse_protected(self, rules: tuple[ProtectionRule, ...]) -> None:
        """Rule 6: nothing being deleted may carry a protected tag."""
        if not rules:
            return
        arts = self.arts
        for digest in self.may_be_tagged:
            tags = arts[digest].tags
            if not tags:
                continue
            for tag, rule in protected_tags(rules, self.repo.name, tags):
                self.plan.refusals.append(Refusal(repository=self.repo.name, digest=digest, reason="protected_tag",
                                                  tag=tag, rule=rule, tags=list(tags)))

    def _write_entries(self, rewrites: list[RewriteEntry]) -> None:
        """What goes in a safe order, what is rewritten, and what stays with the reason decided above."""
        repo, plan, arts = self.repo, self.plan, self.arts
        deletes = _RepositoryDeletes(repo, _execution_order(repo, self.chosen), self.chosen, self.may_be_tagged)
        plan.delete.add(deletes)
        plan.tags_removed.extend([f"{repo.name}:{t}" for tags in deletes.tags.values() for t in tags])
        plan.rewrite.extend(rewrites)
        for digest, (via, reason) in self.kept.items():
            plan.keep.append(
                _new_keep_entry(  # every field, in KeepEntry's order
                    repository=repo.name,
                    digest=digest,
                    reason=reason,
                    parents=_parent_refs(repo, self._holders(digest)),
                    tags=list(arts[digest].tags),
                    via=via,
                    platform=repo.platform_under(via, digest),  # most kept children have an index of their own
                )
            )


class _RepositoryDeletes:
    """One repository's part of `plan.delete` (core.plan.DeleteRows): the digests in execution
    order and the cascade's (why, via) for each. The rest of an entry is read from the repository
    when the list is read: a Repository is not changed once built (a deletion or an undo builds a
    new one, Registry.drop_artifacts), but an untag gives an artifact a new tag list, so the tags
    are taken now."""

    __slots__ = ("repo", "order", "chosen", "tags")

    def __init__(self, repo: Repository, order: list[str], chosen: dict[str, tuple[DeleteWhy, str | None]],
                 may_be_tagged: Iterable[str]) -> None:
        self.repo = repo
        self.order = order
        self.chosen = chosen
        arts = repo.artifacts
        tagged = {d for d in may_be_tagged if arts[d].tags}
        self.tags = {d: arts[d].tags for d in filter(tagged.__contains__, order)}  # the tagged few, in order

    def __len__(self) -> int:
        return len(self.order)

    def rows(self) -> Iterator[DeleteRow]:
        repo, chosen, tags = self.repo, self.chosen, self.tags
        name, arts, kind_of = repo.name, repo.artifacts, repo.kind_of
        # The platform an index lists each child with, read once per index: most rows are children.
        platforms_under: dict[str, dict[str, str]] = {}
        listed = _PlatformsListed()
        untagged: list[str] = []
        for digest in self.order:
            why, via = chosen[digest]
            artifact = arts[digest]
            platform = None
            if via is not None:
                platforms = platforms_under.get(via)
                if platforms is None:
                    platforms = platforms_under[via] = listed.by(arts.get(via))
                platform = platforms.get(digest)
            yield (name, digest, artifact.media_type, kind_of(digest), list(tags.get(digest, untagged)), why, via,
                   artifact.size, platform)

    def keys(self) -> Iterator[tuple[str, str, list[str]]]:
        name, tags = self.repo.name, self.tags
        untagged: list[str] = []
        return ((name, digest, tags.get(digest, untagged)) for digest in self.order)


class _PlatformsListed:
    """The platforms an index lists its children with, as repo.platform_under reads them (the
    first entry that states one names it). A source shares a few platform objects among all
    children: each is written once, found by id (the repository holds every one meanwhile)."""

    __slots__ = ("texts",)

    def __init__(self) -> None:
        self.texts: dict[int, str] = {}  # id of a PlatformInfo -> str of it

    def by(self, index: Artifact | None) -> dict[str, str]:
        """Child digest -> platform, for the index `index` (nothing for an absent one)."""
        texts, platforms = self.texts, {}
        for c in reversed(index.children if index is not None else ()):
            if c.platform is not None:
                text = texts.get(id(c.platform))
                if text is None:
                    text = texts[id(c.platform)] = str(c.platform)
                platforms[c.digest] = text
        return platforms


def _parent_refs(repo: Repository, digests: Iterable[str]) -> list[ParentRef]:
    arts = repo.artifacts
    return [_new_parent_ref(digest=d, tags=list(arts[d].tags) if d in arts else []) for d in digests]


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


def _execution_order(repo: Repository, chosen: dict[str, tuple[DeleteWhy, str | None]]) -> list[str]:
    """Beyond Harbor, a safe order: top-down, an index before its children, a subject before its
    accessories. A run cut short then leaves no surviving artifact pointing at a deleted one."""
    arts, accessories = repo.artifacts, repo.accessories
    # The edges, from what goes and lists or has something to what of that goes too. Most of what
    # goes is an image that has neither: set intersections find the others without reading it.
    listing = (chosen.keys() & repo.with_children) | (chosen.keys() & accessories.keys())
    edges: dict[str, list[str]] = {}
    for digest in filter(listing.__contains__, chosen):
        outs = [c.digest for c in arts[digest].children]
        described = accessories.get(digest)
        if described:
            outs += described
        outs = [o for o in dict.fromkeys(outs) if o in chosen]  # each once
        if outs:
            edges[digest] = outs
    # Kahn's algorithm, first in first out: the list of what is ready is the order, walked as it
    # grows. What one edge leads to is ready as soon as its source is placed; what several lead to
    # waits for the last of them.
    indegree = Counter(chain.from_iterable(edges.values()))
    waiting = {o: n for o, n in indegree.items() if n > 1}
    order = list(filterfalse(indegree.__contains__, chosen))
    for digest in filter(edges.__contains__, order):
        outs = edges[digest]
        if waiting.keys().isdisjoint(outs):
            order += outs
            continue
        for o in outs:
            if o in waiting:
                waiting[o] -= 1
                if waiting[o]:
                    continue
            order.append(o)
    if len(order) < len(chosen):  # only a hand-made subject loop can get here
        placed = set(order)
        order.extend(d for d in chosen if d not in placed)
    return order
