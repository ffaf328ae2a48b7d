"""The planner against docs/deletion-semantics.md: every public scenario through core, then the
edge cases each rule implies. Registries are real content built with RegistryBuilder and read
through the sample format, as a user's file would be."""

from __future__ import annotations

import pytest

from ocitree.core.executor import execute_plan
from ocitree.core.model import Registry
from ocitree.core.plan import DeletionPlan
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.core.stores.sample import SampleStore, registry_from_sample
from ocitree.core.stores.sample_format import SampleFile
from ocitree.sample_data.builder import BuiltManifest, RegistryBuilder
from tests.helpers.scenarios import SCENARIOS, Scenario, ref_for

R = "team/app"


def load(builder: RegistryBuilder) -> Registry:
    return registry_from_sample(SampleFile.model_validate(builder.to_sample()), "test.json")


def plan(registry: Registry, *refs: str, protect: tuple[str, ...] = ()) -> DeletionPlan:
    return plan_deletion(registry, resolve_targets(registry, refs), protect)


def ref(m: BuiltManifest) -> str:
    return f"{m.repository}@{m.digest}"


def deleted(p: DeletionPlan) -> set[str]:
    return {d.digest for d in p.delete}


def kept(p: DeletionPlan) -> dict[str, str]:
    return {k.digest: k.reason for k in p.keep}


def position(p: DeletionPlan) -> dict[str, int]:
    return {d.digest: i for i, d in enumerate(p.delete)}


# Public scenarios --------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"s{s.number}")
def test_public_scenario_plan_and_execution(scenario: Scenario, tmp_path):
    builder = RegistryBuilder()
    built = scenario.build(builder, scenario.repo)
    path = builder.write_sample(tmp_path / "registry.json")
    store = SampleStore(path)
    registry = store.load()
    refs = [ref_for(scenario, built, t) for t in scenario.targets]
    p = plan(registry, *refs, protect=tuple(scenario.protect))

    goes = {(built[n].repository, built[n].digest) for n in scenario.deleted}
    assert {(d.repository, d.digest) for d in p.delete} == goes
    if scenario.refused:
        assert not p.allowed
        assert {r.reason for r in p.refusals} == {scenario.refused}
        assert p.delete == [] and p.tags_removed == []
        return
    assert p.allowed and p.refusals == []
    expected_tags = {f"{built[n].repository}:{t}" for n in scenario.deleted for t in built[n].tags}
    assert set(p.tags_removed) == expected_tags
    if scenario.tags_removed:
        assert {t.split(":", 1)[1] for t in p.tags_removed} == scenario.tags_removed

    result = execute_plan(p, store)
    assert result.completed
    after = store.load()
    present = {(r.name, d): a.tags for r in after.repositories.values() for d, a in r.artifacts.items()}
    everything = {(m.repository, m.digest): m.tags for m in built.values()}
    assert present == {k: v for k, v in everything.items() if k not in goes}


# Rules 2 and 3: references and the cascade -----------------------------------------------------------


def test_harbor_example_index_of_ten_with_one_shared():
    b = RegistryBuilder()
    cs = [b.image(R, arch=f"a{i}") for i in range(10)]
    index = b.index(R, cs, ["multi"])
    other = b.index(R, [cs[9]], ["other"])
    p = plan(load(b), f"{R}:multi")
    assert deleted(p) == {index.digest} | {c.digest for c in cs[:9]}
    (keep,) = p.keep
    assert (keep.digest, keep.reason) == (cs[9].digest, "shared")
    assert [(x.digest, x.tags) for x in keep.parents] == [(other.digest, ["other"])]
    assert keep.via == index.digest


def test_rule_4_grandchild_shared_by_two_deleted_sibling_indexes_goes():
    b = RegistryBuilder()
    g, c1, c2 = b.image(R, arch="amd64"), b.image(R, arch="arm64"), b.image(R, arch="s390x")
    i1, i2 = b.index(R, [g, c1]), b.index(R, [g, c2])
    root = b.index(R, [i1, i2], ["root"])
    p = plan(load(b), f"{R}:root")
    assert p.allowed
    assert deleted(p) == {root.digest, i1.digest, i2.digest, g.digest, c1.digest, c2.digest}
    assert p.keep == []


def test_rule_4_does_not_release_a_grandchild_an_outside_index_still_lists():
    b = RegistryBuilder()
    g, c1, c2 = b.image(R, arch="amd64"), b.image(R, arch="arm64"), b.image(R, arch="s390x")
    i1, i2 = b.index(R, [g, c1]), b.index(R, [g, c2])
    root = b.index(R, [i1, i2], ["root"])
    outside = b.index(R, [g], ["outside"])
    p = plan(load(b), f"{R}:root")
    assert deleted(p) == {root.digest, i1.digest, i2.digest, c1.digest, c2.digest}
    assert kept(p) == {g.digest: "shared"}
    assert [x.digest for x in p.keep[0].parents] == [outside.digest]


def test_child_listed_twice_by_its_only_index_goes():
    b = RegistryBuilder()
    a = b.image(R)
    index = b.index(R, [a, a], ["dup"])
    assert deleted(plan(load(b), f"{R}:dup")) == {index.digest, a.digest}


def test_refusal_names_every_parent_with_its_tags():
    b = RegistryBuilder()
    a = b.image(R, ["amd64"])
    i1, i2 = b.index(R, [a], ["one"]), b.index(R, [a], annotations={"n": "2"})
    i3 = b.index(R, [a, b.image(R, arch="arm64")], ["three", "3"])
    p = plan(load(b), f"{R}:amd64")
    assert not p.allowed
    (refusal,) = p.refusals
    assert (refusal.digest, refusal.reason, refusal.tags) == (a.digest, "referenced", ["amd64"])
    assert sorted((x.digest, tuple(x.tags)) for x in refusal.parents) == sorted(
        [(i1.digest, ("one",)), (i2.digest, ()), (i3.digest, ("three", "3"))]
    )
    assert "referenced by 3 indexes" in refusal.describe()


def test_refused_target_refuses_the_whole_plan_with_every_reason():
    b = RegistryBuilder()
    free = b.image(R, ["free"])
    a, c = b.image(R, arch="amd64"), b.image(R, arch="arm64")
    b.index(R, [a], ["ia"])
    b.index(R, [c], ["ic"])
    p = plan(load(b), f"{R}:free", ref(a), ref(c))
    assert not p.allowed
    assert {(r.digest, r.reason) for r in p.refusals} == {(a.digest, "referenced"), (c.digest, "referenced")}
    assert p.delete == [] and p.tags_removed == [] and p.reclaimable_bytes == 0
    assert free.digest not in {r.digest for r in p.refusals}


def test_target_listed_only_by_another_target_is_allowed():
    b = RegistryBuilder()
    a = b.image(R, ["amd64"])
    index = b.index(R, [a], ["latest"])
    p = plan(load(b), f"{R}:amd64", f"{R}:latest")
    assert p.allowed
    assert deleted(p) == {a.digest, index.digest}


# Rule 8: missing children ------------------------------------------------------------------------


def test_missing_child_is_reported_not_an_error():
    b = RegistryBuilder()
    a = b.image(R)
    absent = "sha256:" + "ab" * 32
    index = b.index(R, [a], ["latest"], missing=(absent,))
    p = plan(load(b), f"{R}:latest")
    assert p.allowed
    assert deleted(p) == {index.digest, a.digest}
    assert [(m.repository, m.digest, m.parent) for m in p.missing] == [(R, absent, index.digest)]
    assert "1 missing" in p.summary()


# Rule 5: accessories -----------------------------------------------------------------------------


def test_accessory_listed_by_an_index_is_kept():
    b = RegistryBuilder()
    m = b.image(R, ["v1"])
    sig = b.accessory(R, m, "signature", cosign_tag=False)
    holder = b.index(R, [sig], ["bundle"])
    p = plan(load(b), f"{R}:v1")
    assert p.allowed
    assert deleted(p) == {m.digest}
    assert kept(p) == {sig.digest: "accessory_listed"}
    assert [x.digest for x in p.keep[0].parents] == [holder.digest]


def test_accessory_deleted_alone_leaves_its_subject():
    b = RegistryBuilder()
    m = b.image(R, ["v1"])
    sbom = b.accessory(R, m, "sbom")
    sbom_sig = b.accessory(R, sbom, "signature")
    p = plan(load(b), ref(sbom))
    assert p.allowed
    assert deleted(p) == {sbom.digest, sbom_sig.digest}  # its own accessory goes with it
    assert m.digest not in deleted(p) and p.keep == []


def test_signature_on_an_sbom_goes_with_the_image_in_order():
    b = RegistryBuilder()
    m = b.image(R, ["v1"])
    sig = b.accessory(R, m, "signature")
    sbom = b.accessory(R, m, "sbom")
    sbom_sig = b.accessory(R, sbom, "signature")
    p = plan(load(b), f"{R}:v1")
    by = {d.digest: d for d in p.delete}
    assert set(by) == {m.digest, sig.digest, sbom.digest, sbom_sig.digest}
    assert (by[sbom_sig.digest].why, by[sbom_sig.digest].via) == ("accessory", sbom.digest)
    assert (by[sig.digest].kind, by[sbom.digest].kind) == ("signature", "sbom")
    order = position(p)
    assert order[m.digest] < order[sbom.digest] < order[sbom_sig.digest]
    assert order[m.digest] < order[sig.digest]
    # Cosign's sha256-<hex>.sig tags go too.
    assert f"{R}:{m.digest.replace(':', '-')}.sig" in p.tags_removed


def test_legacy_cosign_tag_alone_makes_an_accessory():
    b = RegistryBuilder()
    m = b.image(R, ["v1"])
    sig = b.accessory(R, m, "signature", use_subject_field=False)
    p = plan(load(b), f"{R}:v1")
    assert deleted(p) == {m.digest, sig.digest}
    assert {d.digest: d.kind for d in p.delete}[sig.digest] == "signature"


def test_accessory_of_a_cascaded_child_goes_and_of_a_kept_child_stays():
    b = RegistryBuilder()
    goes, stays = b.image(R, arch="amd64"), b.image(R, arch="arm64")
    goes_sig, stays_sig = b.accessory(R, goes), b.accessory(R, stays)
    index = b.index(R, [goes, stays], ["latest"])
    b.index(R, [stays], ["other"])
    p = plan(load(b), f"{R}:latest")
    assert deleted(p) == {index.digest, goes.digest, goes_sig.digest}
    assert stays.digest in kept(p) and stays_sig.digest not in deleted(p)


# Rule 6: protected tags ---------------------------------------------------------------------------


def test_protected_tag_on_a_kept_child_does_not_block():
    b = RegistryBuilder()
    a, c = b.image(R, ["v1.0-amd64"], arch="amd64"), b.image(R, arch="arm64")
    index = b.index(R, [a, c], ["latest"])
    p = plan(load(b), f"{R}:latest", protect=("v1.*",))
    assert p.allowed
    assert deleted(p) == {index.digest, c.digest}
    assert kept(p) == {a.digest: "tagged"}


def test_protected_accessory_blocks_its_subject():
    b = RegistryBuilder()
    m = b.image(R, ["v1"])
    sig = b.accessory(R, m, "signature", tags=["keep-forever"])
    p = plan(load(b), f"{R}:v1", protect=("keep-*",))
    assert not p.allowed
    (refusal,) = p.refusals
    assert (refusal.digest, refusal.reason, refusal.tag, refusal.rule) == (sig.digest, "protected_tag", "keep-forever", "keep-*")
    assert p.delete == []


def test_every_protected_artifact_is_named_and_repository_rules_apply():
    b = RegistryBuilder()
    a = b.image(R, ["release-1"], arch="amd64")
    c = b.image(R, ["release-2"], arch="arm64")
    other = b.image("team/other", ["release-3"])
    p = plan(load(b), ref(a), ref(c), ref(other), protect=("team/app:release-*",))
    assert not p.allowed
    assert {(r.digest, r.tag, r.rule) for r in p.refusals} == {
        (a.digest, "release-1", "team/app:release-*"),
        (c.digest, "release-2", "team/app:release-*"),
    }


def test_refusal_names_every_protected_tag_of_an_artifact():
    b = RegistryBuilder()
    m = b.image(R, ["v1", "v1.2", "stable"])
    p = plan(load(b), f"{R}:stable", protect=("v1*",))
    assert [(r.digest, r.tag, r.rule) for r in p.refusals] == [(m.digest, "v1", "v1*"), (m.digest, "v1.2", "v1*")]
    assert all(r.tags == ["v1", "v1.2", "stable"] for r in p.refusals)


def test_protection_rules_stored_in_the_source_apply():
    b = RegistryBuilder()
    b.image(R, ["v1"])
    b.protect = ["v*"]
    p = plan(load(b), f"{R}:v1")
    assert not p.allowed and p.refusals[0].rule == "v*"


# Beyond Harbor: several targets as one plan, order, reclaimable bytes -------------------------------


def test_child_shared_by_two_selected_indexes_goes_in_one_plan():
    b = RegistryBuilder()
    shared, a, c = b.image(R, arch="amd64"), b.image(R, arch="arm64"), b.image(R, arch="s390x")
    i1, i2 = b.index(R, [shared, a], ["one"]), b.index(R, [shared, c], ["two"])
    registry = load(b)
    alone = plan(registry, f"{R}:one")
    assert kept(alone) == {shared.digest: "shared"}
    both = plan(registry, f"{R}:one", f"{R}:two")
    assert both.allowed
    assert deleted(both) == {i1.digest, i2.digest, shared.digest, a.digest, c.digest}
    assert both.keep == []
    assert [t.reference for t in both.targets] == [f"{R}:one", f"{R}:two"]


def test_same_artifact_named_twice_is_one_target():
    b = RegistryBuilder()
    m = b.image(R, ["v1", "v2"])
    p = plan(load(b), f"{R}:v1", f"{R}:v2", ref(m))
    assert len(p.targets) == 1 and deleted(p) == {m.digest}



def test_target_given_twice_to_the_planner_is_refused_once():
    """The TUI hands the planner TargetRefs directly, not through resolve_targets."""
    b = RegistryBuilder()
    child = b.image(R)
    index = b.index(R, [child], ["latest"])
    registry = load(b)
    (target,) = resolve_targets(registry, [ref(child)])
    p = plan_deletion(registry, [target, target])
    assert len(p.targets) == 1
    assert [(r.digest, r.reason) for r in p.refusals] == [(child.digest, "referenced")]
    assert [x.digest for x in p.refusals[0].parents] == [index.digest]

def test_execution_order_is_top_down():
    b = RegistryBuilder()
    c1, c2, c3 = b.image(R, arch="amd64"), b.image(R, arch="arm64"), b.image(R, arch="s390x")
    inner = b.index(R, [c1, c2])
    root = b.index(R, [inner, c3], ["root"])
    root_sig = b.accessory(R, root)
    c1_sbom = b.accessory(R, c1, "sbom")
    p = plan(load(b), f"{R}:root")
    order = position(p)
    assert set(order) == {root.digest, inner.digest, c1.digest, c2.digest, c3.digest, root_sig.digest, c1_sbom.digest}
    listing = [(root, inner), (root, c3), (inner, c1), (inner, c2), (root, root_sig), (c1, c1_sbom)]
    for before, after in listing:
        assert order[before.digest] < order[after.digest], (before, after)
    assert p.delete[0].why == "target"


def _blob_sizes(builder: RegistryBuilder, m: BuiltManifest) -> dict[str, int]:
    return {d: len(builder.blob_data(d)) for d in builder.blobs_of(m)}


def test_reclaimable_bytes_leave_out_blobs_a_surviving_image_uses():
    b = RegistryBuilder()
    # Same seed, different architecture: different configs, the same layer blob.
    goes = b.image(R, arch="amd64", seed="base", layer_sizes=(5000,))
    survivor = b.image(R, ["keep"], arch="arm64", seed="base", layer_sizes=(5000,))
    index = b.index(R, [goes], ["latest"])
    goes_blobs, survivor_blobs = _blob_sizes(b, goes), _blob_sizes(b, survivor)
    shared = set(goes_blobs) & set(survivor_blobs)
    assert len(shared) == 1  # the layer
    p = plan(load(b), f"{R}:latest")
    expected = index.size + goes.size + sum(size for d, size in goes_blobs.items() if d not in shared)
    assert p.reclaimable_bytes == expected


def test_reclaimable_bytes_count_a_blob_two_deleted_images_share_once():
    b = RegistryBuilder()
    x = b.image(R, arch="amd64", seed="base", layer_sizes=(5000,))
    y = b.image(R, arch="arm64", seed="base", layer_sizes=(5000,))
    index = b.index(R, [x, y], ["latest"])
    blobs = {**_blob_sizes(b, x), **_blob_sizes(b, y)}
    assert len(blobs) == 3  # two configs, one layer
    p = plan(load(b), f"{R}:latest")
    assert p.reclaimable_bytes == index.size + x.size + y.size + sum(blobs.values())


def test_same_digest_in_another_repository_is_another_artifact():
    b = RegistryBuilder()
    a = b.image(R, ["v1"], seed="same")
    other = b.image("team/other", ["v1"], seed="same")
    assert a.digest == other.digest
    p = plan(load(b), f"{R}:v1")
    assert [(d.repository, d.digest) for d in p.delete] == [(R, a.digest)]
    assert p.keep == [] and p.tags_removed == [f"{R}:v1"]


def test_planning_changes_nothing_in_memory():
    b = RegistryBuilder()
    a = b.image(R, arch="amd64")
    b.index(R, [a], ["latest"])
    registry = load(b)
    before = {d: (list(x.tags), x.children) for d, x in registry.repositories[R].artifacts.items()}
    plan(registry, f"{R}:latest")
    assert {d: (list(x.tags), x.children) for d, x in registry.repositories[R].artifacts.items()} == before
    assert registry.repositories[R].parents_of(a.digest) != []


def test_reclaimable_bytes_count_blob_users_in_every_repository_of_the_registry():
    """distribution keeps each blob once for the whole registry (issue 7 §4)."""
    b = RegistryBuilder()
    goes = b.image(R, arch="amd64", seed="base", layer_sizes=(5000,))
    index = b.index(R, [goes], ["latest"])
    b.image("team/mirror", ["amd64"], arch="amd64", seed="base", layer_sizes=(5000,))  # the same image
    p = plan(load(b), f"{R}:latest")
    assert p.reclaimable_bytes == index.size  # the image, its config and layer live on in team/mirror


def test_reclaimable_bytes_count_a_deletion_spanning_repositories_once():
    b = RegistryBuilder()
    one = b.image(R, ["v1"], seed="same", layer_sizes=(5000,))
    b.image("team/mirror", ["v1"], seed="same", layer_sizes=(5000,))
    p = plan(load(b), f"{R}:v1", "team/mirror:v1")
    assert p.reclaimable_bytes == one.size + sum(_blob_sizes(b, one).values())


def test_reclaimable_bytes_of_most_of_the_registry_are_counted_without_the_table_and_as_it_counts():
    """A deletion of most of a registry is what it uses less what stays, without the table of the
    digests several repositories use that a smaller one builds (a prune of millions needs no pass
    over every digest); an image two repositories delete counts once, one a repository keeps none."""
    b = RegistryBuilder()
    shared = [b.image(R, [f"v{i}"], seed=f"img{i}", layer_sizes=(5000, 100 * i + 1)) for i in range(4)]
    for i in range(4):
        b.image("team/mirror", [f"v{i}"], seed=f"img{i}", layer_sizes=(5000, 100 * i + 1))  # the same images
    own = [b.image("team/third", [f"v{i}"], seed=f"own{i}") for i in range(4)]
    refs = [f"{repo}:v{i}" for repo in (R, "team/mirror", "team/third") for i in range(3)]  # 9 of 12
    registry = load(b)

    first = plan(registry, *refs)

    assert registry.shared_digests is None
    assert first.reclaimable_bytes == sum(m.size + sum(_blob_sizes(b, m).values()) for m in shared[:3] + own[:3])
    plan(registry, f"{R}:v3")  # a small deletion builds the table, and the same plan then counts with it
    assert registry.shared_digests is not None
    assert plan(registry, *refs).reclaimable_bytes == first.reclaimable_bytes


def test_reclaimable_bytes_follow_the_registry_after_a_deletion_in_place():
    """The TUI drops deleted artifacts from the loaded registry and plans again on it."""
    b = RegistryBuilder()
    one = b.image(R, ["v1"], seed="same", layer_sizes=(5000,))
    b.image("team/mirror", ["v1"], seed="same", layer_sizes=(5000,))
    b.image("team/third", ["v1"], seed="other")
    registry = load(b)
    assert plan(registry, f"{R}:v1").reclaimable_bytes == 0
    registry.drop_artifacts([("team/mirror", one.digest)])
    assert plan(registry, f"{R}:v1").reclaimable_bytes == one.size + sum(_blob_sizes(b, one).values())


def test_finishing_a_cut_off_run_deletes_a_leftover_that_only_a_fallback_referrers_index_lists():
    """A fallback referrers index is bookkeeping, on a resumed run too: the signature left behind
    under a deleted image goes with it, and the referrers index is rewritten without it (it used
    to be kept as "tagged", with no tags)."""
    from ocitree.core import media_types as mt
    from ocitree.core.plan import ResumedRef

    builder = RegistryBuilder()
    image = builder.image(R, ["v1"], seed="subject")
    signature = builder.accessory(R, image, "signature", cosign_tag=False)
    sbom = builder.accessory(R, image, "sbom", cosign_tag=False)
    doc = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [signature.descriptor(), sbom.descriptor()]}
    referrers = builder.raw_index(R, doc, tags=[image.digest.replace(":", "-")])
    registry = load(builder)
    registry.drop_artifacts([(R, image.digest)])  # the cut-off run deleted the image ...
    old_referrers = "sha256:" + "f" * 64  # ... and the referrers index it found then
    resumed = ResumedRef(reference=f"{R}:v1", repository=R, digest=image.digest,
                         leftovers=[signature.digest, old_referrers])

    p = plan_deletion(registry, [], (), [resumed])

    assert signature.digest in deleted(p)
    assert signature.digest not in kept(p)
    assert {(r.digest, tuple(r.remove)) for r in p.rewrite} == {(referrers.digest, (signature.digest,))}
