"""`ocitree history` and `ocitree undo` (issue 13): a deletion put back exactly, on every source.

Each test deletes an index with a shared and an unshared child and a signature, then undoes it,
and compares `ocitree ls --json` before the delete and after the undo."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from ocitree.core import media_types as mt
from ocitree.sample_data.builder import BuiltManifest, RegistryBuilder
from ocitree.tui.cli import main
from tests.helpers.sources.layout_source import REF_NAME, index_entries, snapshot

EXIT_REFUSED = 3


def scenario() -> tuple[RegistryBuilder, dict[str, BuiltManifest]]:
    """team/app:v1 -> {A (shared with v2), B}, signed; team/app:keep stays apart."""
    b = RegistryBuilder()
    a = b.image("team/app", arch="amd64", seed="A", layer_sizes=(900, 300))
    c = b.image("team/app", arch="arm64", seed="B", layer_sizes=(700,))
    v1 = b.index("team/app", [a, c], ["v1", "stable"])
    v2 = b.index("team/app", [a], ["v2"])
    sig = b.accessory("team/app", v1, "signature")
    keep = b.image("team/app", ["keep"], seed="K", layer_sizes=(200,))
    b.image("other/app", ["v1"], seed="O")
    return b, {"a": a, "b": c, "v1": v1, "v2": v2, "sig": sig, "keep": keep}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def ls_json(capsys, source: str) -> dict:
    code, out, _ = run(capsys, "ls", source, "--json")
    assert code == 0
    return json.loads(out)


def delete(capsys, source: str, *refs: str) -> dict:
    code, out, err = run(capsys, "delete", source, *refs, "--yes", "--json")
    assert code == 0, err
    return json.loads(out)


def test_undo_restores_what_a_delete_removed_exactly(make_source, capsys):
    builder, m = scenario()
    source = make_source(builder)
    before = ls_json(capsys, source)
    done = delete(capsys, source, "team/app:v1")
    assert {d["digest"] for d in done["deleted"]} == {m["v1"].digest, m["b"].digest, m["sig"].digest}
    assert ls_json(capsys, source) != before

    code, out, _ = run(capsys, "history", source, "--json")
    history = json.loads(out)
    assert code == 0 and len(history["runs"]) == 1
    entry = history["runs"][0]
    assert entry["kind"] == "delete" and entry["deleted"] == 3 and entry["undone"] is None
    assert entry["targets"] == ["team/app:v1"] and entry["status"] == "completed"

    code, out, err = run(capsys, "undo", source, "--yes", "--json")
    assert code == 0, err
    undone = json.loads(out)
    assert undone["completed"] and len(undone["restored"]) == 3
    # Bottom-up: the index after both of its children, the signature after its subject.
    order = [r["digest"] for r in undone["restored"]]
    assert order.index(m["b"].digest) < order.index(m["v1"].digest) < order.index(m["sig"].digest)
    assert ls_json(capsys, source) == before

    code, out, _ = run(capsys, "history", source, "--json")
    runs = json.loads(out)["runs"]
    assert [r["kind"] for r in runs] == ["undo", "delete"]
    assert runs[1]["undone"]["by"] == runs[0]["id"]
    # Nothing left to undo: the newest deletion is undone.
    code, _, err = run(capsys, "undo", source, "--yes")
    assert code == 2 and "nothing to undo" in err


def test_undo_puts_a_single_layout_back_blob_for_blob(tmp_path, capsys):
    builder, m = scenario()
    layout = builder.write_layouts(tmp_path / "layouts") / "team" / "app"
    source = str(layout)
    before = ls_json(capsys, source)
    files_before = snapshot(layout, ignore=("index.json.lock", "index.json"))
    entries_before = index_entries(layout)
    delete(capsys, source, "app:v1")
    assert not (layout / "blobs" / "sha256" / m["b"].digest.split(":")[1]).exists()
    code, out, err = run(capsys, "undo", source, "--yes")
    assert code == 0, err
    assert "Restored 3 artifacts" in out
    assert ls_json(capsys, source) == before
    assert index_entries(layout) == entries_before  # same entries, annotations and order
    assert snapshot(layout, ignore=("index.json.lock", "index.json")) == files_before
    from tests.functional.test_layout_skopeo import assert_every_tag_reads

    assert assert_every_tag_reads(layout, tmp_path / "copy") == 5  # v1, stable, v2, keep, the signature


def test_history_shows_the_space_kept_and_purge_frees_it(tmp_path, capsys):
    builder, _ = scenario()
    source = str(builder.write_layouts(tmp_path / "layouts"))
    other = str(builder.write_sample(tmp_path / "other.json"))
    delete(capsys, source, "team/app:v1")
    delete(capsys, other, "team/app:v1")
    code, out, _ = run(capsys, "history", source)
    assert code == 0 and "delete team/app:v1: deleted 3 (completed), can be undone" in out and "can be undone" in out
    assert "kept 14 days" in out
    held = json.loads(run(capsys, "history", source, "--json")[1])["held_bytes"]
    assert held > 900  # A's blobs are shared and stay; B's layer (700 bytes) is held only by the saved run
    code, out, _ = run(capsys, "history", source, "--purge")
    assert code == 0 and "Removed the saved data of 1 run" in out
    assert json.loads(run(capsys, "history", source, "--json")[1])["runs"] == []
    assert len(json.loads(run(capsys, "history", other, "--json")[1])["runs"]) == 1  # another source's run stays
    code, _, err = run(capsys, "undo", source, "--yes")
    assert code == 2 and "nothing to undo" in err


def test_runs_older_than_undo_keep_days_are_removed(tmp_path, capsys, isolated_home):
    builder, _ = scenario()
    source = str(builder.write_sample(tmp_path / "registry.json"))
    delete(capsys, source, "team/app:v1")
    config = isolated_home / "config" / "ocitree" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("undo_keep_days = 0\n")
    assert json.loads(run(capsys, "history", source, "--json")[1])["runs"] == []
    config.write_text("undo_keep_days = -1\n")
    code, _, err = run(capsys, "history", source)
    assert code == 2 and "undo_keep_days" in err


def retag_elsewhere(kind: str, source: str, builder: RegistryBuilder, tag: str, target: BuiltManifest) -> None:
    """Point `tag` of team/app at `target` behind ocitree's back, as another tool would."""
    if kind == "sample":
        doc = json.loads(Path(source).read_text())
        for entry in doc["repositories"]["team/app"]:
            if entry["digest"] == target.digest:
                entry["tags"] = [*entry.get("tags", []), tag]
        Path(source).write_text(json.dumps(doc, indent=2))
    elif kind == "layout":
        index = Path(source) / "team" / "app" / "index.json"
        doc = json.loads(index.read_text())
        doc["manifests"].append({"mediaType": target.media_type, "digest": target.digest, "size": target.size,
                                 "annotations": {REF_NAME: tag}})
        index.write_text(json.dumps(doc, indent=2))
    else:
        response = httpx.put(f"{source}/v2/team/app/manifests/{tag}", content=target.data,
                             headers={"Content-Type": target.media_type})
        assert response.status_code == 201, response.text


def test_a_tag_now_naming_another_artifact_is_refused_unless_retag(make_source, capsys):
    builder, m = scenario()
    source = make_source(builder)
    before = ls_json(capsys, source)
    delete(capsys, source, "team/app:v1")
    retag_elsewhere(make_source.kind, source, builder, "stable", m["keep"])
    moved = ls_json(capsys, source)

    code, out, _ = run(capsys, "undo", source, "--yes")
    assert code == EXIT_REFUSED
    assert "team/app:stable now names " + m["keep"].digest in out and "--retag" in out
    assert ls_json(capsys, source) == moved  # nothing written

    code, out, err = run(capsys, "undo", source, "--yes", "--retag")
    assert code == 0, err
    assert ls_json(capsys, source) == before


def test_undo_without_yes_asks_and_refuses_a_pipe(tmp_path, capsys):
    builder, _ = scenario()
    source = str(builder.write_sample(tmp_path / "registry.json"))
    delete(capsys, source, "team/app:v1")
    after_delete = Path(source).read_bytes()
    code, out, err = run(capsys, "undo", source)
    assert code == 2 and "not restoring without confirmation" in err and "--yes" in err
    assert "Restore 3 artifacts, bottom-up, tags last" in out  # the plan is shown first
    assert Path(source).read_bytes() == after_delete


def test_an_unknown_run_is_bad_input(tmp_path, capsys):
    builder, _ = scenario()
    source = str(builder.write_sample(tmp_path / "registry.json"))
    code, _, err = run(capsys, "undo", source, "20990101", "--yes")
    assert code == 2 and "no run '20990101'" in err
    delete(capsys, source, "team/app:v2")
    delete(capsys, source, "team/app:keep")
    code, _, err = run(capsys, "undo", source, "2", "--yes")
    assert code == 2 and "'2' starts 2 run ids" in err and "give more of the id" in err


@pytest.mark.parametrize("kind", ["sample", "layout"])
def test_a_killed_file_run_is_undone_from_what_it_saved(tmp_path, capsys, monkeypatch, kind):
    """ocitree killed after the store changed and before the run's end was written: the saved lines
    (each written before its step) are enough; the history says the run was interrupted. (A registry
    is cut off for real in test_an_interrupted_registry_run_is_undone_for_its_deleted_part.)"""
    from ocitree.core.undo.recorder import UndoRecorder

    builder, _ = scenario()
    source = str(builder.write_sample(tmp_path / "r.json") if kind == "sample" else builder.write_layouts(tmp_path / "l"))
    before = ls_json(capsys, source)
    finish = UndoRecorder.finish
    monkeypatch.setattr(UndoRecorder, "finish", lambda self, result: None)
    delete(capsys, source, "team/app:v1")
    monkeypatch.setattr(UndoRecorder, "finish", finish)
    runs = json.loads(run(capsys, "history", source, "--json")[1])["runs"]
    assert runs[0]["status"] == "interrupted" and runs[0]["deleted"] == 3
    code, _, err = run(capsys, "undo", source, "--yes")
    assert code == 0, err
    assert ls_json(capsys, source) == before


# -- the real docker-registry --------------------------------------------------------------------------------


def skopeo_copies(url: str, reference: str, tmp_path: Path) -> None:
    host = url.split("://", 1)[1]
    target = tmp_path / ("copy-" + reference.replace("/", "_").replace(":", "_"))
    done = subprocess.run(["skopeo", "copy", "--all", "--src-tls-verify=false", f"docker://{host}/{reference}",
                           f"oci:{target}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.registry
def test_skopeo_copies_every_restored_tag(registry, capsys, tmp_path):
    from tests.helpers.registry_push import push_builder

    builder, m = scenario()
    push_builder(builder, registry.url)
    before = ls_json(capsys, registry.url)
    delete(capsys, registry.url, "team/app:v1")
    code, _, err = run(capsys, "undo", registry.url, "--yes")
    assert code == 0, err
    assert ls_json(capsys, registry.url) == before
    for tag in [*m["v1"].tags, *m["sig"].tags]:
        skopeo_copies(registry.url, f"team/app:{tag}", tmp_path)


@pytest.mark.registry
def test_undo_after_garbage_collect_names_the_missing_blobs_and_writes_nothing(registry, capsys):
    from tests.helpers.registry_push import push_builder
    from tests.functional.test_reclaim_gc import garbage_collect

    builder, m = scenario()
    push_builder(builder, registry.url)
    delete(capsys, registry.url, "team/app:v1")
    assert garbage_collect(registry) > 0
    after_gc = ls_json(capsys, registry.url)
    code, out, _ = run(capsys, "undo", registry.url, "--yes")
    assert code == EXIT_REFUSED
    assert "can no longer be undone" in out and "garbage collection ran" in out
    b_layer = builder.blobs_of(m["b"])[-1]
    assert b_layer in out  # B's own layer is gone; A's, shared with v2, is not named
    assert all(blob not in out for blob in builder.blobs_of(m["a"]))
    assert ls_json(capsys, registry.url) == after_gc
    for digest in (m["v1"].digest, m["b"].digest, m["sig"].digest):
        response = httpx.head(f"{registry.url}/v2/team/app/manifests/{digest}",
                              headers={"Accept": mt.ACCEPT_MANIFESTS})
        assert response.status_code == 404


@pytest.mark.registry
def test_an_interrupted_registry_run_is_undone_for_its_deleted_part(registry, capsys):
    from ocitree.core.executor import execute_plan
    from ocitree.core.planner import plan_deletion, resolve_targets
    from ocitree.core.stores.registry.store import RegistryStore
    from ocitree.core.stores.registry.transport import RetryPolicy
    from tests.helpers.registry_push import push_builder

    builder, m = scenario()
    push_builder(builder, registry.url)
    before = ls_json(capsys, registry.url)
    store = RegistryStore(registry.url, retry=RetryPolicy(attempts=2, first_delay=0.01, max_delay=0.02))
    loaded = store.load()
    plan = plan_deletion(loaded, resolve_targets(loaded, ["team/app:v1"]))

    def stop_after_one(done, total, ref):
        if done == 1:
            registry.stop()

    result = execute_plan(plan, store, on_step=stop_after_one)
    store.close()
    registry.start()
    assert not result.completed and len(result.deleted) == 1

    runs = json.loads(run(capsys, "history", registry.url, "--json")[1])["runs"]
    assert runs[0]["status"] == "incomplete" and runs[0]["deleted"] == 1
    code, out, err = run(capsys, "undo", registry.url, "--yes", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert [r["digest"] for r in doc["restored"]] == [result.deleted[0].digest]
    # What the run never reached was never saved (each step saves just before it deletes) and stays as it is.
    assert ls_json(capsys, registry.url) == before


def test_each_undo_is_audited(tmp_path, capsys, isolated_home):
    builder, _ = scenario()
    source = str(builder.write_sample(tmp_path / "registry.json"))
    delete(capsys, source, "team/app:v1")
    assert run(capsys, "undo", source, "--yes")[0] == 0
    lines = (isolated_home / "state" / "ocitree" / "audit.jsonl").read_text().splitlines()
    last = json.loads(lines[-1])
    assert last["action"] == "undo" and last["completed"] and len(last["restored"]) == 3
    assert last["source"] == source


def test_undo_puts_back_a_referrers_index_the_delete_rewrote(make_source, capsys):
    """Deleting one of two accessories rewrites the OCI 1.1 fallback referrers index without it;
    the undo brings back the index as it was, under its tag, and the accessory."""
    from tests.functional.test_fallback_referrers import signed_with_fallback_referrers

    builder = RegistryBuilder()
    image, sbom, signature, referrers, fallback_tag = signed_with_fallback_referrers(builder)
    source = make_source(builder)
    before = ls_json(capsys, source)
    done = delete(capsys, source, f"team/app@{sbom.digest}")
    assert done["rewritten"], "the referrers index was rewritten"
    code, out, err = run(capsys, "undo", source, "--yes", "--json")
    assert code == 0, err
    assert ls_json(capsys, source) == before


@pytest.mark.registry
@pytest.mark.parametrize("how", ["offline", "api"])
def test_registry_storage_is_undone_the_way_it_was_deleted(registry, capsys, how):
    from tests.helpers.registry_push import push_builder

    builder, m = scenario()
    push_builder(builder, registry.url)
    storage = str(registry.root / "storage")
    mode = ["--offline"] if how == "offline" else ["--api", registry.url]
    if how == "offline":
        registry.stop()
    before = ls_json(capsys, storage)
    code, _, err = run(capsys, "delete", storage, "team/app:v1", *mode, "--yes")
    assert code == 0, err
    assert ls_json(capsys, storage) != before
    code, _, err = run(capsys, "undo", storage, "--yes")  # neither mode: read-only, and it says how
    assert code == 2 and "--api URL" in err and "nothing was restored" in err
    code, _, err = run(capsys, "undo", storage, *mode, "--yes")
    assert code == 0, err
    assert ls_json(capsys, storage) == before
    if how == "offline":
        registry.start()
    code, out, _ = run(capsys, "ls", registry.url, "--json")
    tags = {t for r in json.loads(out)["repositories"] if r["name"] == "team/app" for a in r["artifacts"]
            for t in a.get("tags", [])}
    assert {"v1", "stable", "v2", "keep"} <= tags


def test_a_later_run_that_removed_a_shared_child_is_undone_first(tmp_path, capsys):
    """v1 and v2 share A: deleting v1 keeps A, deleting v2 then removes it. Undoing the v1 run alone
    would list a child that is gone: refused, naming it; undoing the newer run first makes it possible."""
    builder, m = scenario()
    source = str(builder.write_layouts(tmp_path / "layouts"))
    before = ls_json(capsys, source)
    delete(capsys, source, "team/app:v1")
    delete(capsys, source, "team/app:v2")
    runs = json.loads(run(capsys, "history", source, "--json")[1])["runs"]
    older, newer = runs[1]["id"], runs[0]["id"]
    after_both = ls_json(capsys, source)
    code, out, _ = run(capsys, "undo", source, older, "--yes")
    assert code == EXIT_REFUSED and m["a"].digest in out and "undo that one first" in out
    assert ls_json(capsys, source) == after_both
    assert run(capsys, "undo", source, newer, "--yes")[0] == 0
    assert run(capsys, "undo", source, older, "--yes")[0] == 0
    assert ls_json(capsys, source) == before


def test_undo_in_a_layout_whose_blob_files_are_hard_links_of_another_layouts(tmp_path, capsys):
    from tests.functional.test_layout_shared_blobs import hard_link_blob_files, two_layouts_one_image

    builder, root, a1, a2 = two_layouts_one_image(tmp_path)
    hard_link_blob_files(root / "b", root / "a")
    before = ls_json(capsys, str(root))
    delete(capsys, str(root), "a:v1")
    assert run(capsys, "undo", str(root), "--yes")[0] == 0
    assert ls_json(capsys, str(root)) == before


@pytest.mark.parametrize("kind", ["sample", "layout"])
def test_a_tag_taken_between_the_plan_and_the_restore_stops_it_with_nothing_written(tmp_path, capsys, kind):
    from ocitree.core.errors import StoreError
    from ocitree.core.sources import open_store
    from ocitree.core.undo.restore import choose_run, execute_undo, plan_undo
    from ocitree.core.undo.saved import RunBook

    builder, m = scenario()
    source = str(builder.write_sample(tmp_path / "r.json") if kind == "sample" else builder.write_layouts(tmp_path / "l"))
    delete(capsys, source, "team/app:v1")
    store = open_store(source)
    plan = plan_undo(choose_run(RunBook(), store.source, None), store, store.load())
    assert plan.allowed
    retag_elsewhere(kind, source, builder, "stable", m["keep"])  # another tool, while the user reads the plan
    moved = ls_json(capsys, source)
    with pytest.raises(StoreError, match="stable"):
        execute_undo(plan, store)
    assert ls_json(capsys, source) == moved


def test_history_and_undo_show_a_hostile_source_name_as_escapes(tmp_path, capsys):
    """Tags and repository names are validated; a directory name is not, and every line names the source."""
    from ocitree.core.printable import is_unsafe_char
    from tests.functional.test_hostile_strings import HOSTILE, SHOWN

    builder, m = scenario()
    root = builder.write_layouts(tmp_path / HOSTILE)
    delete(capsys, str(root), "team/app:v1")
    run_id = json.loads(run(capsys, "history", str(root), "--json")[1])["runs"][0]["id"]
    outputs = [run(capsys, "history", str(root)), run(capsys, "history", str(root), "--run", run_id),
               run(capsys, "undo", str(root), "--yes"), run(capsys, "undo", str(root), "--yes")]
    assert outputs[2][0] == 0 and outputs[3][0] == 2
    for code, out, err in outputs:
        assert not any(is_unsafe_char(c) for c in (out + err).replace("\n", ""))
    assert SHOWN in outputs[2][1] and SHOWN in outputs[3][2]


def test_undo_reads_only_the_repositories_its_run_changed(tmp_path, capsys):
    """A root of layouts where another layout has become unreadable since the delete: the undo
    still plans and restores, because it reads only team/app (a whole-source load would stop at
    other/app)."""
    builder, m = scenario()
    root = builder.write_layouts(tmp_path / "layouts")
    delete(capsys, str(root), "team/app:v1")
    (root / "other" / "app" / "index.json").write_text("{ not json")

    code, out, err = run(capsys, "undo", str(root), "--yes", "--json")

    assert code == 0, err
    assert {r["digest"] for r in json.loads(out)["restored"]} == {m["v1"].digest, m["b"].digest, m["sig"].digest}
