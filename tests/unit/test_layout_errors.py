"""Damaged layouts and unusable directories: one clear error naming the file and place, exit code 2,
nothing changed, both when loading and when the damage appears between planning and deleting."""

from __future__ import annotations

import json

import pytest

from ocitree.core.errors import BadInputError, MalformedDataError
from ocitree.core.executor import execute_plan
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.core.sources import open_store
from ocitree.core.stores.layout import LayoutStore
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.sources.layout_source import REF_NAME, blob_file, snapshot, write_blob


def build(tmp_path):
    builder = RegistryBuilder()
    a, b = builder.image("app", arch="amd64"), builder.image("app", arch="arm64")
    index = builder.index("app", [a, b], ["latest"])
    image = builder.image("app", ["v1"])
    root = builder.write_layouts(tmp_path / "layouts")
    return root, {"a": a, "b": b, "index": index, "image": image}


def edit_index(layout, change):
    path = layout / "index.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def index_not_json(layout, built):
    (layout / "index.json").write_text('{"schemaVersion": 2, "manifests": [')
    return "index.json: not JSON"


def index_bad_digest(layout, built):
    edit_index(layout, lambda d: d["manifests"][1].update(digest="sha256:NOT-HEX"))
    return "index.json: field manifests.1.digest"


def index_missing(layout, built):
    (layout / "index.json").unlink()
    return "index.json: missing"


def layout_file_not_json(layout, built):
    (layout / "oci-layout").write_text("imageLayoutVersion=1")
    return "oci-layout: not JSON"


def listed_blob_missing(layout, built):
    blob_file(layout, built["image"].digest).unlink()
    return f"(listed in {layout / 'index.json'} as tag 'v1'): the blob does not exist"


def manifest_not_json(layout, built):
    junk = write_blob(layout, b"\x1f\x8b not a manifest")
    edit_index(layout, lambda d: d["manifests"].append(
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": junk, "size": 17}))
    return f"{blob_file(layout, junk)} (listed in {layout / 'index.json'} as untagged entry"


def blob_does_not_match_digest(layout, built):
    blob_file(layout, built["image"].digest).write_text('{"schemaVersion": 2}')
    return "content does not match its digest"


def child_is_not_a_manifest(layout, built):
    layer = json.loads(built["image"].data)["layers"][0]
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{**layer, "mediaType": "application/vnd.oci.image.manifest.v1+json"}]}).encode()
    digest = write_blob(layout, index)
    edit_index(layout, lambda d: d["manifests"].append(
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": len(index)}))
    return f"{blob_file(layout, layer['digest'])} (listed by index {digest[:19]}): manifest is not JSON"


def invalid_tag(layout, built):
    edit_index(layout, lambda d: d["manifests"][1]["annotations"].update({REF_NAME: "-bad tag"}))
    return f"manifests[1].annotations['{REF_NAME}'] = \"-bad tag\" is not a valid tag"


def tag_on_two_manifests(layout, built):
    edit_index(layout, lambda d: d["manifests"][1]["annotations"].update({REF_NAME: "latest"}))
    return "tag 'latest' is also on manifests[0]"


def listed_blob_too_large(layout, built):
    big = write_blob(layout, b" " * (4 * 1024 * 1024 + 1))
    edit_index(layout, lambda d: d["manifests"].append(
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": big, "size": 4 * 1024 * 1024 + 1}))
    return "larger than 4 MiB, so not a manifest"


def listed_blob_is_a_directory(layout, built):
    path = blob_file(layout, built["image"].digest)
    path.unlink()
    path.mkdir()
    return "is a directory, expected a blob file"


def index_json_is_a_manifest(layout, built):
    (layout / "index.json").write_bytes(built["image"].data)
    return "index.json: not an image index"


DAMAGE = [
    index_not_json,
    index_bad_digest,
    index_missing,
    layout_file_not_json,
    listed_blob_missing,
    manifest_not_json,
    blob_does_not_match_digest,
    child_is_not_a_manifest,
    invalid_tag,
    tag_on_two_manifests,
    listed_blob_too_large,
    listed_blob_is_a_directory,
    index_json_is_a_manifest,
]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_damaged_layout_fails_to_load_with_the_place(damage, tmp_path):
    root, built = build(tmp_path)
    layout = root / "app"
    expected = damage(layout, built)
    before = snapshot(root, ignore=())
    with pytest.raises(MalformedDataError) as caught:
        LayoutStore(root).load()
    message = str(caught.value)
    assert expected in message
    assert str(layout) in message
    assert "\n" not in message
    assert caught.value.exit_code == 2
    assert snapshot(root, ignore=()) == before


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_damage_found_when_deleting_changes_nothing(damage, tmp_path):
    root, built = build(tmp_path)
    store = LayoutStore(root)
    registry = store.load()
    plan = plan_deletion(registry, resolve_targets(registry, ["app:latest"]))
    expected = damage(root / "app", built)
    before = snapshot(root)
    with pytest.raises(MalformedDataError) as caught:
        execute_plan(plan, store)
    assert expected in str(caught.value)
    assert snapshot(root) == before


def test_directory_with_no_layout_is_bad_input(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(BadInputError, match=r"empty: no oci-layout file in it or in any directory below it") as caught:
        open_store(str(tmp_path / "empty"))
    assert caught.value.exit_code == 2


def test_layout_directory_with_an_invalid_repository_name_is_named(tmp_path):
    builder = RegistryBuilder()
    builder.image("app", ["v1"])
    root = builder.write_layouts(tmp_path / "root")
    (root / "app").rename(root / "MyApp")
    with pytest.raises(BadInputError) as caught:
        open_store(str(root))
    assert f"{root / 'MyApp'}: its path below {root}, 'MyApp', is not a valid repository name" in str(caught.value)
    assert "rename the directory" in str(caught.value)
    with pytest.raises(BadInputError, match="the directory name 'MyApp' is not a valid repository name"):
        open_store(str(root / "MyApp"))


def test_missing_child_blob_is_not_an_error(tmp_path):
    root, built = build(tmp_path)
    blob_file(root / "app", built["b"].digest).unlink()
    repo = LayoutStore(root).load().repositories["app"]
    assert built["b"].digest not in repo.artifacts
    assert built["index"].digest in repo.artifacts
