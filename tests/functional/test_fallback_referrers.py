"""OCI 1.1 fallback referrers (issue 7 §6): an index tagged `sha256-<subject hex>` that lists the
subject's accessories is the registry's bookkeeping, not a parent. Deleting one accessory rewrites
that index without it (or deletes it when it becomes empty), as regctl does; the plan shows this.
On every kind of source; a layout is read back by skopeo, a registry by its own garbage collector."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from ocitree.core import media_types as mt
from ocitree.core.executor import execute_plan
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.core.sources import open_store
from ocitree.core.stores.options import SourceOptions
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.binaries import require_binary
from ocitree.tui.cli import main

R = "team/app"


def signed_with_fallback_referrers(builder: RegistryBuilder):
    image = builder.image(R, ["v1"], seed="subject", layer_sizes=(2000,))
    sbom = builder.accessory(R, image, "sbom", cosign_tag=False)
    signature = builder.accessory(R, image, "signature", cosign_tag=False)
    fallback_tag = image.digest.replace(":", "-")
    doc = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [sbom.descriptor(), signature.descriptor()]}
    referrers = builder.raw_index(R, doc, tags=[fallback_tag])
    return image, sbom, signature, referrers, fallback_tag


def load(source: str):
    store = open_store(source, SourceOptions())
    try:
        return store.load()
    finally:
        store.close()


def delete(source: str, *refs: str):
    store = open_store(source, SourceOptions())
    try:
        registry = store.load()
        plan = plan_deletion(registry, resolve_targets(registry, list(refs)))
        assert plan.allowed, [r.describe() for r in plan.refusals]
        result = execute_plan(plan, store)
        assert result.completed, result.failed
        return plan
    finally:
        store.close()


def skopeo_reads_every_tag(make_source, source: str, tmp_path) -> None:
    if make_source.kind != "layout":
        return
    from tests.functional.test_layout_skopeo import assert_every_tag_reads

    require_binary("skopeo", "skopeo")
    assert assert_every_tag_reads(Path(source) / R, tmp_path / "copy") >= 1


def test_one_accessory_alone_is_planned_with_its_referrers_index_rewritten(make_source, capsys):
    builder = RegistryBuilder()
    image, sbom, signature, referrers, fallback_tag = signed_with_fallback_referrers(builder)
    source = make_source(builder)

    assert main(["plan", source, f"{R}@{sbom.digest}", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["allowed"] and doc["refusals"] == []
    assert [d["digest"] for d in doc["delete"]] == [sbom.digest]
    (rewrite,) = doc["rewrite"]
    assert (rewrite["digest"], rewrite["remove"], rewrite["remaining"]) == (referrers.digest, [sbom.digest], 1)
    assert rewrite["tags"] == [fallback_tag]

    assert main(["plan", source, f"{R}@{sbom.digest}"]) == 0
    out = capsys.readouterr().out
    assert "REWRITE 1 referrers index first" in out and "rewritten without 1 entry; 1 remain" in out


def test_deleting_one_accessory_rewrites_the_index_and_keeps_the_other(make_source, tmp_path):
    builder = RegistryBuilder()
    image, sbom, signature, referrers, fallback_tag = signed_with_fallback_referrers(builder)
    source = make_source(builder)

    delete(source, f"{R}@{sbom.digest}")

    repo = load(source).repositories[R]
    assert sbom.digest not in repo.artifacts
    assert image.digest in repo.artifacts and signature.digest in repo.artifacts
    now = repo.tags[fallback_tag]
    assert [c.digest for c in repo.artifacts[now].children] == [signature.digest]
    assert repo.parents_of(signature.digest) == [now]
    if make_source.kind != "sample":  # content-addressed: a new index, and the old one is gone
        assert now != referrers.digest and referrers.digest not in repo.artifacts
    if make_source.kind == "registry":
        status = httpx.head(f"{source}/v2/{R}/manifests/{referrers.digest}",
                            headers={"Accept": mt.ACCEPT_MANIFESTS}).status_code
        assert status == 404
    skopeo_reads_every_tag(make_source, source, tmp_path)


def test_deleting_the_last_accessory_deletes_the_emptied_index(make_source, tmp_path):
    builder = RegistryBuilder()
    image, sbom, signature, referrers, fallback_tag = signed_with_fallback_referrers(builder)
    source = make_source(builder)
    delete(source, f"{R}@{sbom.digest}")
    registry = load(source)
    index_now = registry.repositories[R].tags[fallback_tag]

    plan = delete(source, f"{R}@{signature.digest}")

    assert [(d.digest, d.why) for d in plan.delete] == [(index_now, "referrers"), (signature.digest, "target")]
    assert plan.rewrite == []
    repo = load(source).repositories[R]
    assert fallback_tag not in repo.tags and set(repo.artifacts) == {image.digest}
    skopeo_reads_every_tag(make_source, source, tmp_path)


def test_both_accessories_at_once_delete_the_index_and_leave_the_subject(make_source, tmp_path):
    builder = RegistryBuilder()
    image, sbom, signature, referrers, fallback_tag = signed_with_fallback_referrers(builder)
    source = make_source(builder)

    plan = delete(source, f"{R}@{sbom.digest}", f"{R}@{signature.digest}")

    assert plan.delete[0].digest == referrers.digest and plan.delete[0].why == "referrers"
    assert f"{R}:{fallback_tag}" in plan.tags_removed
    repo = load(source).repositories[R]
    assert set(repo.artifacts) == {image.digest} and repo.tags == {"v1": image.digest}
    skopeo_reads_every_tag(make_source, source, tmp_path)


def test_deleting_the_subject_still_takes_the_index_and_every_accessory(make_source):
    builder = RegistryBuilder()
    image, sbom, signature, referrers, fallback_tag = signed_with_fallback_referrers(builder)
    source = make_source(builder)

    plan = delete(source, f"{R}:v1")

    assert {d.digest for d in plan.delete} == {image.digest, sbom.digest, signature.digest, referrers.digest}
    assert plan.rewrite == []
    assert load(source).repositories[R].artifacts == {}


def test_garbage_collect_frees_what_the_plan_announced_after_a_rewrite(registry, capsys):
    from tests.helpers.registry_push import push_builder
    from tests.functional.test_reclaim_gc import garbage_collect

    builder = RegistryBuilder()
    image, sbom, signature, referrers, fallback_tag = signed_with_fallback_referrers(builder)
    push_builder(builder, registry.url)
    assert main(["plan", registry.url, f"{R}@{sbom.digest}", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert main(["delete", registry.url, f"{R}@{sbom.digest}", "--yes", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert [r["digest"] for r in done["rewritten"]] == [referrers.digest]
    assert [d["digest"] for d in done["deleted"]] == [sbom.digest]
    # The old index and the SBOM (its manifest and payload; the empty config the signature shares stays)
    assert plan["reclaimable_bytes"] == referrers.size + sbom.size + len(builder.blob_data(builder.blobs_of(sbom)[1]))
    assert garbage_collect(registry) == plan["reclaimable_bytes"]


def test_prune_retains_accessories_whose_deletion_would_take_a_protected_referrers_index(make_source, capsys):
    # Pruning every accessory of a subject empties its fallback referrers index, which then goes:
    # with its `sha256-*` tag protected, those accessories are retained, not an internal error.
    builder = RegistryBuilder()
    image, sbom, signature, referrers, fallback_tag = signed_with_fallback_referrers(builder)
    source = make_source(builder)
    registry = load(source)
    from ocitree.core.prune import Selection, plan_prune

    targets = resolve_targets(registry, [f"{R}@{sbom.digest}", f"{R}@{signature.digest}"])
    plan = plan_prune(registry, Selection(targets, []), ["sha256-*"])
    assert plan.allowed and len(plan.delete) == 0
    assert {(r.digest, r.reason) for r in plan.retained} == {(sbom.digest, "protected"), (signature.digest, "protected")}
    plan = plan_prune(registry, Selection(targets, []))  # unprotected, the index goes with them
    assert {d.digest for d in plan.delete} == {sbom.digest, signature.digest, referrers.digest}
