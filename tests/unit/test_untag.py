"""Untagging from a sample file and an OCI layout: the tag goes, the manifest stays, protected tags
and subject-naming tags are refused, a stale plan is refused, the audit log records it. (skopeo
reading a layout afterwards: tests/functional/test_untag_skopeo.py.)"""

from __future__ import annotations

import json

import pytest

from ocitree.core.errors import BadInputError, StalePlanError, StoreError, UnknownReferenceError
from ocitree.core.stores.layout import LayoutStore
from ocitree.core.stores.options import SourceOptions
from ocitree.core.stores.sample import SampleStore
from ocitree.core.untag import apply_untag, execute_untag, plan_untag
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.sources.layout_source import REF_NAME, index_entries, index_tags, snapshot


def sample_tags(path) -> dict[str, list[str]]:
    """digest -> tags of every artifact of team/app, as the file says."""
    doc = json.loads(path.read_text())
    return {e["digest"]: e.get("tags", []) for e in doc["repositories"]["team/app"]}


def multi_arch(builder: RegistryBuilder):
    images = [builder.image("team/app", arch=a) for a in ("amd64", "arm64")]
    builder.tag(images[0], "amd64-only")
    index = builder.index("team/app", images, ["latest", "v1"])
    single = builder.image("team/app", ["v2"], seed="single")
    return images, index, single


def test_sample_untag_keeps_the_manifest_and_its_other_tags_and_audits(tmp_path):
    builder = RegistryBuilder()
    _, index, _ = multi_arch(builder)
    path = builder.write_sample(tmp_path / "registry.json")
    store = SampleStore(path)
    plan = plan_untag(store.load(), "team/app", "v1")
    assert plan.allowed and plan.other_tags == ["latest"] and not plan.becomes_untagged
    audit = tmp_path / "audit.log"

    result = execute_untag(plan, store, audit_log=audit)

    assert result.completed and result.untagged == ["team/app:v1"]
    assert sample_tags(path)[index.digest] == ["latest"]
    reloaded = store.load().repositories["team/app"]
    assert "v1" not in reloaded.tags and reloaded.tags["latest"] == index.digest
    record = json.loads(audit.read_text().splitlines()[-1])
    assert record["action"] == "untag" and record["targets"] == ["team/app:v1"] and record["result"] == "completed"
    assert record["untagged"] == [{"repository": "team/app", "digest": index.digest, "tag": "v1"}]


def test_last_tag_of_a_top_level_image_makes_it_untagged_and_says_so(tmp_path):
    builder = RegistryBuilder()
    _, _, single = multi_arch(builder)
    path = builder.write_sample(tmp_path / "registry.json")
    store = SampleStore(path)
    plan = plan_untag(store.load(), "team/app", "v2")
    assert plan.becomes_untagged
    assert "prune --untagged" in plan.effect()

    execute_untag(plan, store)

    repo = store.load().repositories["team/app"]
    assert repo.artifacts[single.digest].tags == [] and repo.is_top_level(single.digest)


def test_last_tag_of_a_child_is_allowed_and_the_index_still_lists_it(tmp_path):
    builder = RegistryBuilder()
    images, index, _ = multi_arch(builder)
    path = builder.write_sample(tmp_path / "registry.json")
    store = SampleStore(path)
    plan = plan_untag(store.load(), "team/app", "amd64-only")
    assert plan.allowed and not plan.top_level and not plan.becomes_untagged
    assert "index" in plan.effect()

    execute_untag(plan, store)

    repo = store.load().repositories["team/app"]
    assert repo.artifacts[images[0].digest].tags == [] and repo.parents_of(images[0].digest) == [index.digest]


@pytest.mark.parametrize("protect", [["v*"], ["team/*:v1"]])
def test_protected_tag_is_refused_and_nothing_changes(tmp_path, protect):
    builder = RegistryBuilder()
    multi_arch(builder)
    path = builder.write_sample(tmp_path / "registry.json")
    before = path.read_bytes()
    store = SampleStore(path)
    plan = plan_untag(store.load(), "team/app", "v1", protect)
    assert not plan.allowed and plan.refusal == "protected_tag"
    assert protect[0] in plan.refusal_text()

    with pytest.raises(BadInputError, match="protected"):
        execute_untag(plan, store)
    assert path.read_bytes() == before


def test_cosign_tag_is_refused_it_ties_the_signature_to_its_subject(tmp_path):
    builder = RegistryBuilder()
    _, index, _ = multi_arch(builder)
    signature = builder.accessory("team/app", index, "signature", use_subject_field=False)
    path = builder.write_sample(tmp_path / "registry.json")
    plan = plan_untag(SampleStore(path).load(), "team/app", signature.tags[0])
    assert not plan.allowed and plan.refusal == "names_subject"
    assert "Delete the accessory instead" in plan.refusal_text()


def test_unknown_tag_is_an_unknown_reference(tmp_path):
    builder = RegistryBuilder()
    multi_arch(builder)
    path = builder.write_sample(tmp_path / "registry.json")
    with pytest.raises(UnknownReferenceError, match="no tag 'v9'"):
        plan_untag(SampleStore(path).load(), "team/app", "v9")


def test_plan_made_before_the_tag_moved_is_refused_as_stale(tmp_path):
    builder = RegistryBuilder()
    _, index, single = multi_arch(builder)
    path = builder.write_sample(tmp_path / "registry.json")
    store = SampleStore(path)
    plan = plan_untag(store.load(), "team/app", "v1")
    doc = json.loads(path.read_text())
    for entry in doc["repositories"]["team/app"]:  # another program moves v1 to the single image
        if entry["digest"] == index.digest:
            entry["tags"] = ["latest"]
        if entry["digest"] == single.digest:
            entry["tags"] = ["v2", "v1"]
    path.write_text(json.dumps(doc))
    before = path.read_bytes()

    with pytest.raises(StalePlanError, match="now names"):
        execute_untag(plan, store)
    assert path.read_bytes() == before


def test_read_only_source_says_it_cannot_untag(tmp_path):
    builder = RegistryBuilder()
    multi_arch(builder)
    path = builder.write_sample(tmp_path / "registry.json")
    store = SampleStore(path, SourceOptions(read_only=True))
    assert "read-only" in (store.untag_refusal("team/app") or "")
    with pytest.raises(StoreError, match="read-only"):
        execute_untag(plan_untag(store.load(), "team/app", "v1"), store)


def test_apply_untag_updates_the_model_in_place(tmp_path):
    builder = RegistryBuilder()
    _, index, _ = multi_arch(builder)
    registry = SampleStore(builder.write_sample(tmp_path / "registry.json")).load()
    apply_untag(registry, "team/app", "latest")
    repo = registry.repositories["team/app"]
    assert "latest" not in repo.tags and repo.artifacts[index.digest].tags == ["v1"]


# -- OCI layouts -------------------------------------------------------------------------------


def test_layout_untag_drops_the_entry_and_keeps_the_other_name(tmp_path):
    builder = RegistryBuilder()
    _, index, single = multi_arch(builder)
    root = builder.write_layouts(tmp_path / "layouts")
    layout = root / "team" / "app"
    store = LayoutStore(root)

    execute_untag(plan_untag(store.load(), "team/app", "v1"), store)

    assert index_tags(layout) == {"latest": index.digest, "v2": single.digest, "amd64-only": index_tags(layout)["amd64-only"]}
    assert [e["digest"] for e in index_entries(layout)].count(index.digest) == 1
    assert store.load().repositories["team/app"].artifacts[index.digest].tags == ["latest"]


def test_layout_last_tag_of_a_top_level_image_keeps_an_unnamed_entry(tmp_path):
    builder = RegistryBuilder()
    _, _, single = multi_arch(builder)
    root = builder.write_layouts(tmp_path / "layouts")
    layout = root / "team" / "app"
    store = LayoutStore(root)
    blobs_before = {k: v for k, v in snapshot(layout).items() if k.startswith("blobs/")}

    execute_untag(plan_untag(store.load(), "team/app", "v2"), store)

    entries = [e for e in index_entries(layout) if e["digest"] == single.digest]
    assert len(entries) == 1 and REF_NAME not in entries[0].get("annotations", {})
    repo = store.load().repositories["team/app"]
    assert repo.artifacts[single.digest].tags == [] and repo.is_top_level(single.digest)
    assert {k: v for k, v in snapshot(layout).items() if k.startswith("blobs/")} == blobs_before  # nothing deleted


def test_layout_last_tag_of_a_child_drops_its_entry_the_index_still_reaches_it(tmp_path):
    builder = RegistryBuilder()
    images, index, _ = multi_arch(builder)
    root = builder.write_layouts(tmp_path / "layouts")
    layout = root / "team" / "app"
    store = LayoutStore(root)

    execute_untag(plan_untag(store.load(), "team/app", "amd64-only"), store)

    assert images[0].digest not in [e["digest"] for e in index_entries(layout)]
    repo = store.load().repositories["team/app"]
    assert repo.artifacts[images[0].digest].tags == [] and repo.parents_of(images[0].digest) == [index.digest]
