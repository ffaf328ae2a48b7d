"""OCI image layouts as a source: the twelve scenarios through the core, and what is left on disk."""

from __future__ import annotations

import json
import threading

import pytest

from ocitree.core.errors import StalePlanError, StoreError
from ocitree.core.executor import execute_plan
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.core.sources import open_store
from ocitree.core.stores.options import SourceOptions
from ocitree.core.stores.layout import LayoutStore
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.scenarios import SCENARIOS, ref_for
from tests.helpers.sources.layout_source import (
    REF_NAME,
    blob_file,
    has_blob,
    index_entries,
    index_tags,
    snapshot,
    write_blob,
    write_index,
)


def plan_for(store, refs, protect=()):
    registry = store.load()
    return plan_deletion(registry, resolve_targets(registry, refs), protect)


def delete(store, *refs):
    plan = plan_for(store, refs)
    assert plan.allowed, plan.summary()
    result = execute_plan(plan, store)
    assert result.completed, result.summary()
    return plan


# -- the public scenarios ----------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"s{s.number}")
def test_scenario_on_layouts(scenario, tmp_path):
    builder = RegistryBuilder()
    built = scenario.build(builder, scenario.repo)
    root = builder.write_layouts(tmp_path / "layouts")
    layout = root / scenario.repo
    before = snapshot(root)
    store = LayoutStore(root)

    plan = plan_for(store, [ref_for(scenario, built, t) for t in scenario.targets], scenario.protect)

    if scenario.refused:
        assert not plan.allowed
        assert {r.reason for r in plan.refusals} == {scenario.refused}
        assert snapshot(root) == before
        return
    result = execute_plan(plan, store)
    assert result.completed, result.summary()

    deleted = {built[n].digest for n in scenario.deleted}
    remaining = [m for m in builder.manifests(scenario.repo) if m.digest not in deleted]
    assert {d.digest for d in plan.delete} == deleted
    # index.json: no entry of a deleted manifest, every tag of a remaining one
    assert not {e["digest"] for e in index_entries(layout)} & deleted
    assert index_tags(layout) == {t: m.digest for m in remaining for t in m.tags}
    for tag in scenario.tags_removed:
        assert tag not in index_tags(layout)
    # blobs: deleted manifests gone; remaining manifests whole; unused configs and layers gone
    in_use = {m.digest for m in remaining} | {b for m in remaining for b in builder.blobs_of(m)}
    for name in scenario.deleted:
        m = built[name]
        assert not has_blob(layout, m.digest)
        for b in builder.blobs_of(m):
            assert has_blob(layout, b) == (b in in_use)
    for m in remaining:
        assert has_blob(layout, m.digest)
        assert all(has_blob(layout, b) for b in builder.blobs_of(m))
    # the store reads back exactly what remains, and no other layout changed
    reread = store.load().repositories[scenario.repo]
    assert set(reread.artifacts) == {m.digest for m in remaining}
    after = snapshot(root)
    prefix = scenario.repo + "/"
    assert {k: v for k, v in after.items() if not k.startswith(prefix)} == {
        k: v for k, v in before.items() if not k.startswith(prefix)
    }


# -- sources: one layout, a root of layouts, zot's nesting ------------------------------------


def test_single_layout_directory_is_one_repository_named_after_it(tmp_path):
    builder = RegistryBuilder()
    builder.image("app", ["v1"])
    root = builder.write_layouts(tmp_path)
    single = open_store(str(root / "app"))
    assert list(single.load().repositories) == ["app"]
    delete(single, "app:v1")
    assert index_entries(root / "app") == []


def test_root_of_layouts_names_repositories_by_relative_path(tmp_path):
    builder = RegistryBuilder()
    builder.image("app", ["v1"])
    builder.image("tools/cli", ["v2"])
    root = builder.write_layouts(tmp_path / "root")
    registry = open_store(str(root)).load()
    assert sorted(registry.repositories) == ["app", "tools/cli"]
    assert registry.repositories["tools/cli"].tags == {"v2": builder.manifests("tools/cli")[0].digest}


def test_nested_zot_root_keeps_each_layout_its_own_blob_store(tmp_path):
    # zot keeps `library` and `library/app` as nested directories; each holds its own blobs.
    builder = RegistryBuilder()
    parent = builder.image("library", ["v1"], seed="same")
    child = builder.image("library/app", ["v1"], seed="same")
    builder.image("team/x/y", ["edge"])
    root = builder.write_layouts(tmp_path / "zot")
    (root / ".sync" / "mirror").mkdir(parents=True)  # zot's own dot-directories are not repositories
    (root / ".sync" / "mirror" / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    store = LayoutStore(root)
    assert sorted(store.load().repositories) == ["library", "library/app", "team/x/y"]
    assert parent.digest == child.digest

    delete(store, "library:v1")

    assert not has_blob(root / "library", parent.digest)
    assert has_blob(root / "library/app", child.digest)
    assert all(has_blob(root / "library/app", b) for b in builder.blobs_of(child))
    assert index_tags(root / "library/app") == {"v1": child.digest}
    assert sorted(store.load().repositories["library/app"].tags) == ["v1"]


# -- index.json forms -------------------------------------------------------------------------


def test_digest_listed_twice_has_two_tags_and_deleting_one_removes_both(tmp_path):
    builder = RegistryBuilder()
    m = builder.image("app", ["v1", "v2"])
    other = builder.image("app", ["v3"])
    root = builder.write_layouts(tmp_path)
    store = LayoutStore(root)
    assert store.load().repositories["app"].artifacts[m.digest].tags == ["v1", "v2"]

    plan = delete(store, "app:v1")

    assert sorted(plan.tags_removed) == ["app:v1", "app:v2"]
    assert index_tags(root / "app") == {"v3": other.digest}


def test_untagged_index_entries_are_top_level_artifacts(tmp_path):
    builder = RegistryBuilder()
    loose = builder.image("app")
    tagged = builder.image("app", ["v1"])
    root = builder.write_layouts(tmp_path)
    store = LayoutStore(root)
    repo = store.load().repositories["app"]
    assert {a.digest for a in repo.top_level()} == {loose.digest, tagged.digest}
    assert repo.artifacts[loose.digest].tags == []

    delete(store, f"app@{loose.digest}")

    assert [e["digest"] for e in index_entries(root / "app")] == [tagged.digest]
    assert not has_blob(root / "app", loose.digest)


def test_index_json_keeps_its_other_entries_fields_and_order(tmp_path):
    builder = RegistryBuilder()
    a, gone, c = builder.image("app", ["a"]), builder.image("app", ["gone"]), builder.image("app", ["c"])
    root = builder.write_layouts(tmp_path)
    index_path = root / "app" / "index.json"
    doc = json.loads(index_path.read_text())
    doc["annotations"] = {"org.example.note": "kept"}
    doc["manifests"][0]["annotations"]["org.example.extra"] = "kept too"
    index_path.write_text(json.dumps(doc))

    delete(LayoutStore(root), "app:gone")

    after = json.loads(index_path.read_text())
    assert after["annotations"] == {"org.example.note": "kept"}
    assert [e["digest"] for e in after["manifests"]] == [a.digest, c.digest]
    assert after["manifests"][0]["annotations"]["org.example.extra"] == "kept too"
    assert gone.digest not in index_path.read_text()


def test_missing_child_is_reported_not_an_error(tmp_path):
    builder = RegistryBuilder()
    a = builder.image("app", arch="amd64")
    absent = "sha256:" + "ab" * 32
    builder.index("app", [a], ["latest"], missing=(absent,))
    root = builder.write_layouts(tmp_path)
    store = LayoutStore(root)
    plan = plan_for(store, ["app:latest"])
    assert [(m.digest, m.repository) for m in plan.missing] == [(absent, "app")]
    assert execute_plan(plan, store).completed
    assert index_entries(root / "app") == []
    assert not has_blob(root / "app", a.digest)


# -- blobs ----------------------------------------------------------------------------------


def test_keep_blobs_leaves_configs_and_layers(tmp_path):
    builder = RegistryBuilder()
    m = builder.image("app", ["v1"])
    root = builder.write_layouts(tmp_path)
    store = open_store(str(root / "app"), SourceOptions(keep_blobs=True))

    delete(store, "app:v1")

    assert not has_blob(root / "app", m.digest)
    assert all(has_blob(root / "app", b) for b in builder.blobs_of(m))
    assert index_entries(root / "app") == []


def test_layer_shared_with_a_remaining_image_stays(tmp_path):
    builder = RegistryBuilder()
    # Same seed, other architecture: distinct configs and manifests, identical layers.
    amd = builder.image("app", ["amd"], arch="amd64", seed="s")
    arm = builder.image("app", ["arm"], arch="arm64", seed="s")
    shared = set(builder.blobs_of(amd)) & set(builder.blobs_of(arm))
    assert shared
    root = builder.write_layouts(tmp_path)

    delete(LayoutStore(root), "app:amd")

    assert all(has_blob(root / "app", b) for b in builder.blobs_of(arm))
    own_config = builder.blobs_of(amd)[0]
    assert not has_blob(root / "app", own_config)


def test_deleted_manifest_kept_as_blob_while_a_remaining_manifest_uses_those_bytes(tmp_path):
    # A remaining artifact may carry another manifest's bytes as its layer (an archived manifest):
    # deleting that manifest must not take the layer from under it.
    layout = tmp_path / "app"
    config = write_blob(layout, b"{}")
    image = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
                        "layers": []}).encode()
    image_digest = write_blob(layout, image)
    archive = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "artifactType": "application/vnd.example.archive",
                          "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
                          "layers": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                      "digest": image_digest, "size": len(image)}]}).encode()
    archive_digest = write_blob(layout, archive)
    write_index(layout, [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": image_digest, "size": len(image),
         "annotations": {REF_NAME: "image"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": archive_digest, "size": len(archive),
         "annotations": {REF_NAME: "archive"}},
    ])

    delete(LayoutStore(layout), "app:image")

    assert index_tags(layout) == {"archive": archive_digest}
    assert blob_file(layout, image_digest).read_bytes() == image  # still the archive's layer
    assert has_blob(layout, config)  # still the archive's config


# -- safety ------------------------------------------------------------------------------------


def test_read_only_refuses_to_delete_and_touches_nothing(tmp_path):
    builder = RegistryBuilder()
    builder.image("app", ["v1"])
    root = builder.write_layouts(tmp_path)
    before = snapshot(root, ignore=())
    store = open_store(str(root), SourceOptions(read_only=True))
    plan = plan_for(store, ["app:v1"])
    with pytest.raises(StoreError, match="read-only"):
        execute_plan(plan, store)
    assert snapshot(root, ignore=()) == before  # not even a lock file


def test_plan_made_before_another_change_is_refused_as_stale(tmp_path):
    builder = RegistryBuilder()
    a, b = builder.image("app", arch="amd64"), builder.image("app", arch="arm64")
    builder.index("app", [a, b], ["latest"])
    root = builder.write_layouts(tmp_path)
    store = LayoutStore(root)
    plan = plan_for(store, ["app:latest"])  # would delete the index and both children
    # Meanwhile someone tags child a: the index delete must now keep it.
    index_path = root / "app" / "index.json"
    doc = json.loads(index_path.read_text())
    doc["manifests"].append({**a.descriptor(), "annotations": {REF_NAME: "pinned"}})
    index_path.write_text(json.dumps(doc))
    before = snapshot(root)

    with pytest.raises(StalePlanError) as caught:
        execute_plan(plan, store)

    assert snapshot(root) == before
    assert a.digest not in {d.digest for d in caught.value.new_plan.delete}


def test_concurrent_writers_wait_for_each_other_and_lose_nothing(tmp_path):
    builder = RegistryBuilder()
    x, y, z = builder.image("app", ["x"]), builder.image("app", ["y"]), builder.image("app", ["z"])
    root = builder.write_layouts(tmp_path)
    first, second = LayoutStore(root), LayoutStore(root)  # as two ocitree processes would
    first.load()
    plan_y = plan_for(second, ["app:y"])  # made before the first writer's delete
    outcome = {}

    with first.session({"app"}) as session:
        deletion = session.begin(session.current())
        deletion.delete("app", x.digest)
        waiting = threading.Thread(target=lambda: outcome.setdefault("y", execute_plan(plan_y, second)))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive(), "the second writer did not wait for the lock"
        deletion.commit()
    waiting.join(10)

    assert outcome["y"].completed
    assert index_tags(root / "app") == {"z": z.digest}  # the first writer's delete was not undone
    assert not has_blob(root / "app", x.digest) and not has_blob(root / "app", y.digest)


def test_index_json_changed_by_another_program_during_deletion_changes_nothing(tmp_path):
    builder = RegistryBuilder()
    m = builder.image("app", ["v1"])
    builder.image("app", ["v2"])
    root = builder.write_layouts(tmp_path)
    index_path = root / "app" / "index.json"
    store = LayoutStore(root)
    with store.session({"app"}) as session:
        deletion = session.begin(session.current())
        deletion.delete("app", m.digest)
        index_path.write_text(index_path.read_text().replace('"v2"', '"v2-renamed"'))  # skopeo ignores our lock
        before = snapshot(root)
        with pytest.raises(StoreError, match="changed by another program"):
            deletion.commit()
    assert snapshot(root) == before


def test_load_reports_progress_for_big_layouts(tmp_path):
    builder = RegistryBuilder()
    for i in range(1100):
        builder.image("big", [f"t{i}"], layer_sizes=(8,))
    builder.image("small", ["v1"])
    root = builder.write_layouts(tmp_path)
    reports = []
    LayoutStore(root).load(reports.append)
    assert reports[0].done == 0 and reports[0].total == 2
    assert any(r.message == "big: 1000 manifests read" for r in reports)
    assert (reports[-1].done, reports[-1].total) == (2, 2)
    assert [r.done for r in reports] == sorted(r.done for r in reports)


@pytest.mark.parametrize(
    ("use_subject_field", "cosign_tag"), [(True, False), (False, True)], ids=["subject-field", "cosign-tag"]
)
def test_accessory_found_either_way_goes_with_its_subject(use_subject_field, cosign_tag, tmp_path):
    builder = RegistryBuilder()
    m = builder.image("app", ["v1"])
    sbom = builder.accessory("app", m, "sbom", use_subject_field=use_subject_field, cosign_tag=cosign_tag)
    keep = builder.image("app", ["v2"])
    root = builder.write_layouts(tmp_path)
    store = LayoutStore(root)
    assert store.load().repositories["app"].accessories_of(m.digest) == [sbom.digest]

    plan = delete(store, "app:v1")

    assert [(d.digest, d.why) for d in plan.delete] == [(m.digest, "target"), (sbom.digest, "accessory")]
    assert [e["digest"] for e in index_entries(root / "app")] == [keep.digest]
    assert not has_blob(root / "app", sbom.digest)
    assert all(not has_blob(root / "app", b) for b in builder.blobs_of(sbom) if b not in builder.blobs_of(keep))


def test_second_layout_failing_to_install_reports_the_first_as_deleted(tmp_path, monkeypatch):
    b = RegistryBuilder()
    first, second = b.image("a/one", ["v1"]), b.image("b/two", ["v1"])
    root = b.write_layouts(tmp_path / "layouts")
    store = LayoutStore(root)
    plan = plan_for(store, ["a/one:v1", "b/two:v1"])
    real_replace = __import__("os").replace
    calls = []

    def replace_once(src, dst):
        if str(dst).endswith("/index.json"):  # ocitree's own state files are written as usual
            calls.append(dst)
        if len(calls) == 2 and dst == calls[-1]:
            raise OSError(5, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr("ocitree.core.durable_files.os.replace", replace_once)
    result = execute_plan(plan, store)
    assert not result.completed
    # a/one's index.json was replaced: its manifest is gone, and the report must say so.
    assert first.digest not in {e["digest"] for e in index_entries(root / "a/one")}
    assert [(d.repository, d.digest) for d in result.deleted] == [("a/one", first.digest)]
    assert [(n.repository, n.digest) for n in result.not_done] == [("b/two", second.digest)]
    assert "deleted from a/one only" in result.failed[0].error
