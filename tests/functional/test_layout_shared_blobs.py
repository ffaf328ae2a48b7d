"""Layouts that share one blob directory through a symlink (a zot-style root deduplicated by hand),
and a symlinked index.json. After every delete skopeo reads every remaining tag completely."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ocitree.core.executor import execute_plan
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.core.stores.layout import LayoutStore
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.sources.layout_source import index_tags
from tests.functional.test_layout_skopeo import assert_every_tag_reads, assert_tag_gone, skopeo_installed  # noqa: F401
from ocitree.tui.cli import main

pytestmark = pytest.mark.skopeo


def share_blobs(root: Path, names: list[str], shared: Path) -> None:
    """Move every layout's blobs/sha256 into `shared` and put a relative symlink in its place."""
    shared.mkdir(parents=True, exist_ok=True)
    for name in names:
        own = root / name / "blobs" / "sha256"
        for blob in own.iterdir():
            if not (shared / blob.name).exists():
                shutil.move(str(blob), shared / blob.name)
        shutil.rmtree(own)
        own.symlink_to(os.path.relpath(shared, own.parent), target_is_directory=True)


def two_layouts_one_image(tmp_path: Path):
    """a:v1 and b:v1 are the same image (same manifest, config, layers); a also has its own a:v2."""
    builder = RegistryBuilder()
    a1 = builder.image("a", ["v1"], seed="same", layer_sizes=(4000, 1000))
    builder.image("b", ["v1"], seed="same", layer_sizes=(4000, 1000))
    a2 = builder.image("a", ["v2"], seed="own", layer_sizes=(3000,))
    root = builder.write_layouts(tmp_path / "root")
    return builder, root, a1, a2


def blob_files(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in directory.iterdir()}


def run(store: LayoutStore, *refs: str):
    registry = store.load()
    plan = plan_deletion(registry, resolve_targets(registry, list(refs)))
    assert plan.allowed
    result = execute_plan(plan, store)
    assert result.completed, result.failed
    return plan, result


def test_deleting_from_one_layout_keeps_blobs_another_layout_uses_through_a_shared_directory(tmp_path):
    builder, root, a1, a2 = two_layouts_one_image(tmp_path)
    shared = root / "_shared" / "sha256"
    share_blobs(root, ["a", "b"], shared)
    before = blob_files(shared)

    plan, _ = run(LayoutStore(root), "a:v1")

    assert index_tags(root / "b") == {"v1": a1.digest}
    assert all(name in blob_files(shared) for name in before if f"sha256:{name}" in [a1.digest, *builder.blobs_of(a1)])
    assert plan.reclaimable_bytes == 0  # b uses every blob a:v1 had
    assert blob_files(shared) == before
    assert assert_every_tag_reads(root / "b", tmp_path / "copy-b") == 1
    assert assert_every_tag_reads(root / "a", tmp_path / "copy-a") == 1
    assert_tag_gone(root / "a", "v1")


def test_blobs_only_the_deleted_layout_used_go_and_the_plan_figure_is_the_bytes_removed(tmp_path):
    builder, root, a1, a2 = two_layouts_one_image(tmp_path)
    shared = root / "_shared" / "sha256"
    share_blobs(root, ["a", "b"], shared)
    before = blob_files(shared)

    plan, _ = run(LayoutStore(root), "a:v2")

    after = blob_files(shared)
    removed = sum(size for name, size in before.items() if name not in after)
    assert removed == plan.reclaimable_bytes == a2.size + sum(len(builder.blob_data(d)) for d in builder.blobs_of(a2))
    assert plan.reclaim.exact and plan.reclaim.by == "immediate"
    assert assert_every_tag_reads(root / "a", tmp_path / "copy-a") == 1
    assert assert_every_tag_reads(root / "b", tmp_path / "copy-b") == 1


def test_a_later_delete_in_the_other_layout_then_frees_the_shared_blobs(tmp_path):
    builder, root, a1, a2 = two_layouts_one_image(tmp_path)
    shared = root / "_shared" / "sha256"
    share_blobs(root, ["a", "b"], shared)
    run(LayoutStore(root), "a:v1")
    before = blob_files(shared)

    plan, _ = run(LayoutStore(root), "b:v1")

    after = blob_files(shared)
    assert sum(size for name, size in before.items() if name not in after) == plan.reclaimable_bytes > 0
    assert {f"sha256:{n}" for n in before} - {f"sha256:{n}" for n in after} == {a1.digest, *builder.blobs_of(a1)}
    assert assert_every_tag_reads(root / "a", tmp_path / "copy-a") == 1


def test_a_blob_directory_symlinked_from_outside_the_source_is_never_emptied(tmp_path):
    """Opening layout `a` alone, ocitree cannot see who else uses the directory its blobs/sha256
    leads to (here: layout b). It removes nothing there, and the plan says so."""
    builder, root, a1, a2 = two_layouts_one_image(tmp_path)
    shared = tmp_path / "elsewhere" / "sha256"
    share_blobs(root, ["a", "b"], shared)
    before = blob_files(shared)

    plan, _ = run(LayoutStore(root / "a"), "a:v1")

    assert blob_files(shared) == before
    assert plan.reclaimable_bytes == 0
    assert plan.reclaim.notes and "outside" in plan.reclaim.notes[0]
    assert assert_every_tag_reads(root / "b", tmp_path / "copy-b") == 1
    assert_tag_gone(root / "a", "v1")


def test_plan_text_and_json_name_the_blobs_left_in_place(tmp_path, capsys):
    builder, root, a1, a2 = two_layouts_one_image(tmp_path)
    share_blobs(root, ["a", "b"], tmp_path / "elsewhere" / "sha256")
    assert main(["plan", str(root / "a"), "a:v2"]) == 0
    out = capsys.readouterr().out
    assert "Freed at once (unused blobs are removed with their manifests): 0 B (exact" in out
    assert "stay, not counted" in out and "symlink" in out
    assert main(["plan", str(root / "a"), "a:v2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["reclaimable_bytes"] == 0 and "symlink" in doc["reclaim"]["notes"][0]


def test_a_symlinked_index_json_is_rewritten_at_its_target(tmp_path):
    builder, root, a1, a2 = two_layouts_one_image(tmp_path)
    layout = root / "a"
    kept = tmp_path / "indexes" / "a-index.json"
    kept.parent.mkdir()
    shutil.move(str(layout / "index.json"), kept)
    (layout / "index.json").symlink_to(kept)

    run(LayoutStore(root), "a:v1")

    assert (layout / "index.json").is_symlink()
    assert os.path.realpath(layout / "index.json") == str(kept)
    assert index_tags(layout) == {"v2": a2.digest}
    assert not list(kept.parent.glob(".*.tmp"))
    assert assert_every_tag_reads(layout, tmp_path / "copy-a") == 1
    assert_tag_gone(layout, "v1")


def test_a_symlinked_index_json_whose_target_cannot_be_replaced_is_refused_and_nothing_changes(tmp_path, monkeypatch):
    builder, root, a1, a2 = two_layouts_one_image(tmp_path)
    layout = root / "a"
    kept = tmp_path / "indexes" / "a-index.json"
    kept.parent.mkdir()
    shutil.move(str(layout / "index.json"), kept)
    (layout / "index.json").symlink_to(kept)
    original = kept.read_bytes()
    blobs_before = sorted(p.name for p in (layout / "blobs" / "sha256").iterdir())
    import ocitree.core.stores.layout as layout_module

    real_stage = layout_module.stage_file

    def no_write_there(path, data, mode=None):  # as in a directory this user may not write (tests run as root)
        if Path(path).parent == kept.parent:
            raise PermissionError(13, "Permission denied")
        return real_stage(path, data, mode)

    monkeypatch.setattr(layout_module, "stage_file", no_write_there)
    store = LayoutStore(root)
    registry = store.load()
    result = execute_plan(plan_deletion(registry, resolve_targets(registry, ["a:v1"])), store)

    assert not result.completed
    assert str(kept) in result.failed[0].error and "nothing was deleted" in result.failed[0].error
    assert kept.read_bytes() == original and (layout / "index.json").is_symlink()
    assert sorted(p.name for p in (layout / "blobs" / "sha256").iterdir()) == blobs_before
    assert assert_every_tag_reads(layout, tmp_path / "copy-a") == 2


def link_blob_files(from_layout: Path, to_layout: Path) -> list[str]:
    """Replace each blob file of `from_layout` that `to_layout` also has by a relative symlink to it."""
    linked = []
    for blob in (from_layout / "blobs" / "sha256").iterdir():
        other = to_layout / "blobs" / "sha256" / blob.name
        if other.is_file():
            blob.unlink()
            blob.symlink_to(os.path.relpath(other, blob.parent))
            linked.append(blob.name)
    return linked


def test_blob_files_linked_one_by_one_into_another_layout_stay_while_it_uses_them(tmp_path):
    builder, root, a1, a2 = two_layouts_one_image(tmp_path)
    linked = link_blob_files(root / "b", root / "a")
    assert len(linked) == 1 + len(builder.blobs_of(a1))  # b's manifest, config and layers
    a_blobs = root / "a" / "blobs" / "sha256"
    before = blob_files(a_blobs)

    plan, _ = run(LayoutStore(root), "a:v1")

    assert plan.reclaimable_bytes == 0 and blob_files(a_blobs) == before  # b reaches every one of them
    assert assert_every_tag_reads(root / "b", tmp_path / "copy-b") == 1
    # Nor are they leftovers of a's directory: b uses them, through its links.
    assert {name: repo.leftover_blobs for name, repo in LayoutStore(root).load().repositories.items()} == {"a": {}, "b": {}}

    plan, _ = run(LayoutStore(root), "b:v1")

    after = blob_files(a_blobs)
    assert sum(size for name, size in before.items() if name not in after) == plan.reclaimable_bytes > 0
    assert set(before) - set(after) == set(linked)
    assert not [p for p in (root / "b" / "blobs" / "sha256").iterdir() if p.is_symlink()]  # no dangling links
    assert assert_every_tag_reads(root / "a", tmp_path / "copy-a") == 1


def hard_link_blob_files(from_layout: Path, to_layout: Path) -> list[str]:
    """Replace each blob file of `from_layout` that `to_layout` also has by a hard link to it (zot's dedupe)."""
    linked = []
    for blob in (from_layout / "blobs" / "sha256").iterdir():
        other = to_layout / "blobs" / "sha256" / blob.name
        if other.is_file():
            blob.unlink()
            os.link(other, blob)
            linked.append(blob.name)
    return linked


def used_bytes(root: Path) -> int:
    """Bytes of distinct blob files (by inode) under `root`."""
    seen = {}
    for p in root.rglob("*"):
        if "blobs" in p.relative_to(root).parts and p.is_file() and not p.is_symlink():
            st = p.stat()
            seen[(st.st_dev, st.st_ino)] = st.st_size
    return sum(seen.values())


def test_hard_linked_blob_files_count_as_freed_only_when_their_last_link_goes(tmp_path):
    builder, root, a1, a2 = two_layouts_one_image(tmp_path)
    hard_link_blob_files(root / "b", root / "a")
    start = used_bytes(root)

    plan, _ = run(LayoutStore(root), "a:v1")
    assert plan.reclaimable_bytes == 0 and start - used_bytes(root) == 0  # b's links keep every file
    assert "hard-linked elsewhere: removing them frees no space" in plan.reclaim.notes[0]
    assert assert_every_tag_reads(root / "b", tmp_path / "copy-b") == 1

    before = used_bytes(root)
    plan, _ = run(LayoutStore(root), "b:v1")
    assert plan.reclaimable_bytes == before - used_bytes(root) > 0

    builder, root2, a1, a2 = two_layouts_one_image(tmp_path / "two")
    hard_link_blob_files(root2 / "b", root2 / "a")
    before = used_bytes(root2)
    plan, _ = run(LayoutStore(root2), "a:v1", "b:v1")  # both links of each file go: freed once
    assert plan.reclaimable_bytes == before - used_bytes(root2) > 0


def test_a_plan_after_a_deletion_applied_in_place_sees_the_hard_links_as_they_are_now(tmp_path):
    """The TUI drops deleted artifacts from the loaded registry and asks the store to refresh what it
    knows of blob files; the next plan's figure is again the bytes then freed."""
    builder, root, a1, a2 = two_layouts_one_image(tmp_path)
    hard_link_blob_files(root / "b", root / "a")
    store = LayoutStore(root)
    registry = store.load()
    result = execute_plan(plan_deletion(registry, resolve_targets(registry, ["a:v1"])), store)
    registry.drop_artifacts([(d.repository, d.digest) for d in result.deleted])
    store.refresh_blob_scope(registry)

    before = used_bytes(root)
    plan = plan_deletion(registry, resolve_targets(registry, ["b:v1"]))
    assert execute_plan(plan, store).completed
    assert plan.reclaimable_bytes == before - used_bytes(root) > 0


def test_a_delete_in_one_layout_waits_for_a_delete_in_a_layout_sharing_its_blobs(tmp_path):
    """Each session locks every layout sharing the blob directory: a delete in b that starts while
    a's is under way waits, then sees a's result, and no blob either still uses goes."""
    import threading

    builder, root, a1, a2 = two_layouts_one_image(tmp_path)
    shared = root / "_shared" / "sha256"
    share_blobs(root, ["a", "b"], shared)
    first, second = LayoutStore(root), LayoutStore(root)  # as two ocitree processes would
    first.load()
    registry = second.load()
    plan_b = plan_deletion(registry, resolve_targets(registry, ["b:v1"]))
    outcome = {}

    with first.session({"a"}) as session:
        deletion = session.begin(session.current())
        deletion.delete("a", a2.digest)
        waiting = threading.Thread(target=lambda: outcome.setdefault("b", execute_plan(plan_b, second)))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive(), "the delete in b did not wait for the lock a's delete holds"
        deletion.commit()
    waiting.join(10)

    assert outcome["b"].completed
    assert index_tags(root / "a") == {"v1": a1.digest} and index_tags(root / "b") == {}
    assert assert_every_tag_reads(root / "a", tmp_path / "copy-a") == 1
