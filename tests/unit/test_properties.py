"""Properties of planning and execution on random registries (nesting, sharing, tags,
accessories, missing children, protection rules, two repositories), executed against the
sample store in a temporary file."""

from __future__ import annotations

import json
import tempfile
from collections import deque
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from ocitree.core.errors import BadInputError
from ocitree.core.executor import execute_plan
from ocitree.core.model import Registry
from ocitree.core.plan import DeletionPlan, TargetRef
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.core.protection import parse_rules
from ocitree.core.stores.sample import SampleStore
from ocitree.sample_data.builder import RegistryBuilder

REPOSITORIES = ["p/one", "p/two"]
ARCHES = ["amd64", "arm64", "s390x"]
TAG_POOL = ["v1", "v2", "latest", "prod-1", "prod-2", "dev"]
PROTECT_POOL = ["prod-*", "v1", "p/two:*", "latest"]
ABSENT = "sha256:" + "0" * 64

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _child_digests(m) -> list[str]:
    return [d["digest"] for d in json.loads(m.data).get("manifests", [])]


@st.composite
def cases(draw, min_targets: int = 1):
    """(builder, protection patterns, targets as (repository, digest))."""
    b = RegistryBuilder()
    for repo in REPOSITORIES[: draw(st.integers(1, 2))]:
        made = []
        cosign_tags: set[tuple[str, str]] = set()
        for step in range(draw(st.integers(1, 10))):
            kind = draw(st.sampled_from(["image", "image", "index", "index", "accessory"])) if made else "image"
            if kind == "image":
                # Few seeds: images share layer blobs, and an identical image is the same artifact.
                seed = f"{repo}/{draw(st.integers(0, 3))}"
                made.append(b.image(repo, arch=draw(st.sampled_from(ARCHES)), seed=seed, layer_sizes=(64,)))
            elif kind == "index":
                children = draw(st.lists(st.sampled_from(made), min_size=1, max_size=4))
                missing = (ABSENT,) if draw(st.integers(0, 9)) == 0 else ()
                made.append(b.index(repo, children, annotations={"step": str(step)}, missing=missing))
            else:
                subject = draw(st.sampled_from(made))
                what = draw(st.sampled_from(["signature", "sbom", "attestation"]))
                cosign = (subject.digest, what) not in cosign_tags and draw(st.booleans())
                if cosign:
                    cosign_tags.add((subject.digest, what))
                subject_field = draw(st.booleans()) if cosign else True
                made.append(b.accessory(repo, subject, what, cosign_tag=cosign, use_subject_field=subject_field))
        for tag in TAG_POOL:
            holder = draw(st.none() | st.sampled_from(made))
            if holder is not None:
                b.tag(holder, tag)
    protect = draw(st.lists(st.sampled_from(PROTECT_POOL), max_size=2, unique=True))
    everything = [(m.repository, m.digest) for repo in b.repositories() for m in b.manifests(repo)]
    assume(len(everything) >= min_targets)
    # Users mostly delete what they see at the top: weigh unlisted indexes up, so that plans cascade.
    listed = {(repo, c) for repo in b.repositories() for m in b.manifests(repo) for c in _child_digests(m)}
    indexes = [(m.repository, m.digest) for repo in b.repositories() for m in b.manifests(repo) if _child_digests(m)]
    weighted = everything + indexes + [i for i in indexes if i not in listed] * 3
    targets = draw(st.lists(st.sampled_from(weighted), min_size=min_targets, max_size=3, unique=True))
    return b, protect, targets


def state(registry: Registry) -> dict[tuple[str, str], tuple[str, ...]]:
    """(repository, digest) -> sorted tags: what a user can see of a registry."""
    return {(r.name, d): tuple(sorted(a.tags)) for r in registry.repositories.values() for d, a in r.artifacts.items()}


def make_store(directory: str, builder: RegistryBuilder, name: str = "registry.json") -> SampleStore:
    return SampleStore(builder.write_sample(Path(directory) / name))


def plan_for(registry: Registry, targets, protect) -> DeletionPlan:
    return plan_deletion(registry, resolve_targets(registry, [f"{r}@{d}" for r, d in targets]), protect)


@SETTINGS
@given(cases())
def test_plans_keep_every_rule_and_execution_does_exactly_the_plan(case):
    builder, protect, targets = case
    with tempfile.TemporaryDirectory() as directory:
        store = make_store(directory, builder)
        registry = store.load()
        before = state(registry)
        plan = plan_for(registry, targets, protect)
        event("allowed" if plan.allowed else f"refused: {sorted({r.reason for r in plan.refusals})}")
        for reason in sorted({k.reason for k in plan.keep}):
            event(f"keeps {reason}")
        if any(d.why != "target" for d in plan.delete):
            event("cascades")

        if not plan.allowed:
            assert plan.delete == [] and plan.tags_removed == []
            rules = parse_rules(protect)
            for refusal in plan.refusals:
                repo = registry.repositories[refusal.repository]
                if refusal.reason == "referenced":  # a real parent, and not one of the targets
                    assert refusal.parents
                    for parent in refusal.parents:
                        assert parent.digest in repo.parents_of(refusal.digest)
                        assert (refusal.repository, parent.digest) not in targets
                else:
                    assert refusal.tag in repo.artifacts[refusal.digest].tags
                    assert any(r.pattern == refusal.rule and r.matches(refusal.repository, refusal.tag) for r in rules)
            raw = store.path.read_bytes()
            with pytest.raises(BadInputError):
                execute_plan(plan, store)
            assert store.path.read_bytes() == raw
            return

        gone = {(d.repository, d.digest) for d in plan.delete}
        assert set(targets) <= gone
        rules = parse_rules(protect)
        for entry in plan.delete:
            repo = registry.repositories[entry.repository]
            artifact = repo.artifacts[entry.digest]
            # Never an artifact that a surviving index lists.
            for parent in repo.parents_of(entry.digest):
                assert (entry.repository, parent) in gone, f"{entry.digest} deleted while {parent} still lists it"
            # Never a tagged artifact, unless named, or an accessory whose subject goes.
            if artifact.tags and (entry.repository, entry.digest) not in targets:
                assert any((entry.repository, s) in gone for s in repo.subjects.get(entry.digest, ()))
            # Never a protected tag.
            assert not any(r.matches(entry.repository, t) for r in rules for t in artifact.tags)

        result = execute_plan(plan, store)
        assert result.completed
        assert {(d.repository, d.digest) for d in result.deleted} == gone
        after = store.load()
        assert state(after) == {k: v for k, v in before.items() if k not in gone}
        for repo in after.repositories.values():
            for artifact in repo.artifacts.values():
                for child in artifact.children:
                    assert (repo.name, child.digest) not in gone, "a surviving index lists a deleted manifest"
                for subject in repo.subjects.get(artifact.digest, ()):
                    if (repo.name, subject) in gone:  # rule 5: kept only because an index lists it
                        assert repo.parents_of(artifact.digest)


def parents_first(registry: Registry, targets: list[tuple[str, str]], gone: set[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """The targets in an order that deletes parents first, or None if there is none.

    A target's region is what the one plan deletes that is reachable from it, through children
    and from a subject to its accessories. T goes before U when U is in T's region. And X goes
    before T when X's region holds an index listing an accessory whose subject is in T's region:
    the other way round, the subject would go while that index still keeps the accessory
    (rule 5), and the index would then leave the accessory behind if it is tagged (rule 3),
    where one plan for both sees that nothing keeps it (rule 4)."""
    region: dict[tuple[str, str], set[str]] = {}
    for repo_name, digest in targets:
        repo = registry.repositories[repo_name]
        seen, queue = {digest}, deque([digest])
        while queue:
            d = queue.popleft()
            for n in [c.digest for c in repo.artifacts[d].children] + repo.accessories_of(d):
                if n not in seen and (repo_name, n) in gone:
                    seen.add(n)
                    queue.append(n)
        region[(repo_name, digest)] = seen

    def before(x: tuple[str, str], t: tuple[str, str]) -> bool:
        if x[0] != t[0]:
            return False
        if t[1] in region[x]:
            return True
        repo = registry.repositories[x[0]]
        released = {c.digest for d in region[x] for c in repo.artifacts[d].children
                    if c.digest in repo.subjects and (x[0], c.digest) in gone}
        return any(s in region[t] for a in released for s in repo.subjects[a])

    order: list[tuple[str, str]] = []
    remaining = list(targets)
    while remaining:
        free = [t for t in remaining if not any(before(o, t) for o in remaining if o != t)]
        if not free:
            return None
        order.append(free[0])
        remaining.remove(free[0])
    return order


@SETTINGS
@given(cases(min_targets=2))
def test_one_plan_for_several_targets_equals_deleting_them_one_at_a_time_parents_first(case):
    builder, protect, targets = case
    with tempfile.TemporaryDirectory() as directory:
        together = make_store(directory, builder, "together.json")
        registry = together.load()
        plan = plan_for(registry, targets, protect)
        assume(plan.allowed)
        gone = {(d.repository, d.digest) for d in plan.delete}
        order = parents_first(registry, targets, gone)
        assume(order is not None)
        event(f"{len(gone) - len(targets)} more than the targets go")
        assert execute_plan(plan, together).completed

        one_by_one = make_store(directory, builder, "one-by-one.json")
        for repository, digest in order:
            current = one_by_one.load()
            if digest not in current.repositories[repository].artifacts:
                continue  # an earlier target's cascade took it
            single = plan_deletion(current, [TargetRef(repository=repository, digest=digest, reference=digest)], protect)
            assert single.allowed, [r.describe() for r in single.refusals]
            assert execute_plan(single, one_by_one).completed

        assert state(together.load()) == state(one_by_one.load())


@SETTINGS
@given(cases(), st.integers(0, 10_000))
def test_a_run_cut_off_anywhere_is_finished_by_naming_each_ref_again(case, cut):
    """Cut a run after any step: the same command again (each REF resumed, or planned afresh if it
    still resolves) deletes nothing the original plan did not, and ends where it would have."""
    from ocitree.core.interrupted import resolve_targets_resuming
    from tests.helpers.immediate_store import ImmediateStore

    builder, protect, targets = case
    with tempfile.TemporaryDirectory() as directory:
        store = ImmediateStore(builder.write_sample(Path(directory) / "registry.json"), source=directory)
        registry = store.load()
        before = state(registry)
        plan = plan_for(registry, targets, protect)
        assume(plan.allowed and len(plan.delete) >= 2)
        planned = {(d.repository, d.digest) for d in plan.delete}
        store.fail_on = plan.delete[1 + cut % (len(plan.delete) - 1)].digest
        first = execute_plan(plan, store)
        store.fail_on = None
        assert not first.completed
        if first.deleted and all((t.repository, t.digest) in {(d.repository, d.digest) for d in first.deleted} for t in plan.targets):
            event("every REF resumed")

        now = store.load()
        found, resumed, _ = resolve_targets_resuming(now, [t.reference for t in plan.targets])
        again = plan_deletion(now, found, protect, resumed)
        assert again.allowed
        assert {(d.repository, d.digest) for d in again.delete} == planned - {(d.repository, d.digest) for d in first.deleted}
        if found:
            event("some REFs still resolve")
        assert all(r.digest not in {d.digest for d in again.delete} for r in resumed)
        assert execute_plan(again, store).completed
        assert state(store.load()) == {k: v for k, v in before.items() if k not in planned}
