"""Resuming a cut-off run plans only the leftovers of the REF being run, re-checked by the rules now (issue 7 §1)."""

from __future__ import annotations

import json

import httpx
import pytest

from ocitree.core import media_types as mt
from ocitree.core.executor import execute_plan
from ocitree.core.interrupted import resolve_targets_resuming
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.immediate_store import ImmediateStore
from tests.helpers.registry_fault_proxy import Fault
from tests.helpers.sources.layout_source import has_blob
from tests.helpers.registry_push import push_builder, push_manifest
from ocitree.tui.cli import main
from ocitree.tui.plan_text import render_plan
from rich.console import Console

R = "team/app"


def present(url: str, digest: str, repository: str = R) -> bool:
    return httpx.head(f"{url}/v2/{repository}/manifests/{digest}", headers={"Accept": mt.ACCEPT_MANIFESTS}).status_code == 200


def two_indexes(b: RegistryBuilder):
    a, b_ = b.image(R, arch="amd64"), b.image(R, arch="arm64")
    v1 = b.index(R, [a, b_], ["v1"])
    c = b.image(R, arch="s390x")
    v2 = b.index(R, [c], ["v2"])
    return a, b_, v1, c, v2


@pytest.mark.registry
def test_resume_of_one_ref_plans_only_its_own_leftovers(registry, registry_proxy, capsys):
    b = RegistryBuilder()
    a, b_, v1, c, v2 = two_indexes(b)
    push_builder(b, registry.url)
    registry_proxy.add(Fault(method="DELETE", path=f"/manifests/{v2.digest}", status=500))

    assert main(["delete", registry_proxy.url, f"{R}:v1", f"{R}:v2", "--yes"]) == 1
    assert not present(registry.url, v1.digest) and present(registry.url, v2.digest)
    capsys.readouterr()

    assert main(["plan", registry_proxy.url, f"{R}:v1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {d["digest"] for d in doc["delete"]} == {a.digest, b_.digest}
    assert doc["tags_removed"] == []

    assert main(["plan", registry_proxy.url, f"{R}:v1"]) == 0
    text = capsys.readouterr().out
    assert "Tags removed" not in text and text.splitlines()[0].count(f"{R}:v1") == 1

    assert main(["delete", registry_proxy.url, f"{R}:v1", "--yes"]) == 0
    assert not present(registry.url, a.digest) and not present(registry.url, b_.digest)
    assert present(registry.url, v2.digest) and present(registry.url, c.digest)


@pytest.mark.registry
def test_a_leftover_tagged_since_is_kept(registry, registry_proxy, capsys):
    b = RegistryBuilder()
    a, b_, v1, c, v2 = two_indexes(b)
    push_builder(b, registry.url)
    registry_proxy.add(Fault(method="DELETE", path=f"/manifests/{a.digest}", status=500))

    assert main(["delete", registry_proxy.url, f"{R}:v1", "--yes"]) == 1
    assert not present(registry.url, v1.digest) and present(registry.url, a.digest)
    registry_proxy.clear()
    with httpx.Client() as client:
        push_manifest(client, registry.url, a, "pinned")  # someone keeps the child that survived
    capsys.readouterr()

    assert main(["plan", registry_proxy.url, f"{R}:v1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [d["digest"] for d in doc["delete"]] == [b_.digest]
    assert [(k["digest"], k["reason"], k["tags"]) for k in doc["keep"]] == [(a.digest, "tagged", ["pinned"])]
    assert doc["tags_removed"] == []

    assert main(["delete", registry_proxy.url, f"{R}:v1", "--yes"]) == 0
    assert "Tags removed" not in capsys.readouterr().out
    assert present(registry.url, a.digest) and present(registry.url, "pinned")
    assert not present(registry.url, b_.digest)
    assert present(registry.url, v2.digest) and present(registry.url, c.digest)


# -- the same rules on a store that deletes one manifest at a time, over a sample file ------------


def cut_off(store: ImmediateStore, refs: list[str], fail_at: int = 1):
    """Run the delete of `refs`, failing at the plan's step `fail_at` (0-based)."""
    registry = store.load()
    plan = plan_deletion(registry, resolve_targets(registry, refs))
    store.fail_on = plan.delete[fail_at].digest
    result = execute_plan(plan, store)
    store.fail_on = None
    assert not result.completed and len(result.deleted) == fail_at
    return plan


def resumed_plan(store: ImmediateStore, refs: list[str], protect=()):
    registry = store.load()
    targets, resumed, notes = resolve_targets_resuming(registry, refs)
    return plan_deletion(registry, targets, protect, resumed), notes


def test_a_leftover_with_a_new_parent_is_kept_shared(tmp_path):
    b = RegistryBuilder()
    a, b_ = b.image(R, arch="amd64"), b.image(R, arch="arm64")
    b.index(R, [a, b_], ["v1"])
    store = ImmediateStore(b.write_sample(tmp_path / "r.json"))
    cut_off(store, [f"{R}:v1"])
    other = b.index(R, [a], ["other"])  # another client pushes an index listing the surviving child
    b.write_sample(tmp_path / "r.json")

    plan, _ = resumed_plan(store, [f"{R}:v1"])
    assert plan.allowed
    assert [d.digest for d in plan.delete] == [b_.digest]
    assert [(k.digest, k.reason, [p.digest for p in k.parents]) for k in plan.keep] == [(a.digest, "shared", [other.digest])]


def test_leftovers_of_a_nested_index_cascade_by_the_rules(tmp_path):
    b = RegistryBuilder()
    c1, c2, d = b.image(R, arch="amd64"), b.image(R, arch="arm64"), b.image(R, arch="ppc64le")
    inner = b.index(R, [c1, c2])
    v1 = b.index(R, [inner, d], ["v1"])
    sig = b.accessory(R, v1, "signature")
    other = b.image(R, ["other"], arch="riscv64")
    store = ImmediateStore(b.write_sample(tmp_path / "r.json"))
    cut_off(store, [f"{R}:v1"])

    plan, notes = resumed_plan(store, [f"{R}:v1"])
    assert plan.allowed and "interrupted" in notes[0]
    assert {d.digest for d in plan.delete} == {inner.digest, c1.digest, c2.digest, d.digest, sig.digest}
    # The signature still goes with its subject, deleted by the cut-off run, cosign tag and all (rule 5).
    assert [t for t in plan.tags_removed] == [f"{R}:{sig.tags[0]}"]
    assert plan.delete.index(next(e for e in plan.delete if e.digest == inner.digest)) < \
        plan.delete.index(next(e for e in plan.delete if e.digest == c1.digest))
    assert other.digest not in {d.digest for d in plan.delete}


def test_a_leftover_child_tagged_with_a_protected_tag_is_kept_and_does_not_block(tmp_path):
    b = RegistryBuilder()
    a, b_ = b.image(R, arch="amd64"), b.image(R, arch="arm64")
    b.index(R, [a, b_], ["v1"])
    store = ImmediateStore(b.write_sample(tmp_path / "r.json"))
    cut_off(store, [f"{R}:v1"])
    b.tag(a, "release-1")
    b.write_sample(tmp_path / "r.json")

    plan, _ = resumed_plan(store, [f"{R}:v1"], protect=["release-*"])
    assert plan.allowed
    assert [d.digest for d in plan.delete] == [b_.digest]
    assert [(k.digest, k.reason) for k in plan.keep] == [(a.digest, "tagged")]


def test_a_leftover_accessory_with_a_protected_tag_refuses_as_a_fresh_plan_would(tmp_path):
    b = RegistryBuilder()
    a = b.image(R, arch="amd64")
    v1 = b.index(R, [a], ["v1"])
    sig = b.accessory(R, v1, "signature", tags=["keep-forever"])
    store = ImmediateStore(b.write_sample(tmp_path / "r.json"))
    cut_off(store, [f"{R}:v1"])

    plan, _ = resumed_plan(store, [f"{R}:v1"], protect=["keep-*"])
    assert not plan.allowed
    assert [(r.digest, r.reason) for r in plan.refusals] == [(sig.digest, "protected_tag")]


def test_the_plan_header_names_each_ref_once(tmp_path):
    b = RegistryBuilder()
    a, b_ = b.image(R, arch="amd64"), b.image(R, arch="arm64")
    b.index(R, [a, b_], ["v1"])
    store = ImmediateStore(b.write_sample(tmp_path / "r.json"))
    cut_off(store, [f"{R}:v1"])

    plan, _ = resumed_plan(store, [f"{R}:v1", f"{R}:v1"])
    assert len(plan.delete) == 2
    console = Console(width=200, record=True)
    console.print(render_plan(plan))
    header = console.export_text().splitlines()[0]
    assert header.startswith(f"Plan for {R}:v1 ") and header.count(f"{R}:v1") == 1


def test_layouts_resume_of_one_ref_plans_nothing_of_the_other(tmp_path, capsys, monkeypatch):
    """The layout form of the v1/v2 case: the second layout's index.json cannot be replaced."""
    b = RegistryBuilder()
    first = b.index("a/one", [b.image("a/one", arch="amd64")], ["v1"])
    second = b.index("b/two", [b.image("b/two", arch="amd64")], ["v1"])
    root = b.write_layouts(tmp_path / "layouts")
    replace = __import__("os").replace

    def refuse_second(src, dst):
        if str(dst) == str(root / "b/two/index.json"):
            raise OSError(5, "Input/output error")
        return replace(src, dst)

    with monkeypatch.context() as patched:
        patched.setattr("ocitree.core.durable_files.os.replace", refuse_second)
        assert main(["delete", str(root), "a/one:v1", "b/two:v1", "--yes"]) == 1
    capsys.readouterr()

    assert main(["plan", str(root), "a/one:v1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["delete"] == [] and [r["digest"] for r in doc["resumed"]] == [first.digest]
    assert has_blob(root / "a/one", first.digest)  # index.json no longer lists it; its blobs stay for now
    assert main(["delete", str(root), "a/one:v1", "--yes"]) == 0
    assert "nothing it left remains" in capsys.readouterr().err
    assert not any(has_blob(root / "a/one", d) for d in [first.digest, *b.blobs_of(first)])
    assert main(["plan", str(root), "b/two:v1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["delete"][0]["digest"] == second.digest


def test_the_accessory_of_a_child_the_cut_off_run_deleted_still_goes(tmp_path):
    b = RegistryBuilder()
    a = b.image(R, arch="amd64")
    b.index(R, [a], ["v1"])
    sig = b.accessory(R, a, "signature")  # cosign-tagged: a tag of its own, yet it goes with its subject
    store = ImmediateStore(b.write_sample(tmp_path / "r.json"))
    cut_off(store, [f"{R}:v1"], fail_at=2)  # the index and its child went; the signature did not

    plan, _ = resumed_plan(store, [f"{R}:v1"])
    assert [(d.digest, d.why, d.via) for d in plan.delete] == [(sig.digest, "accessory", a.digest)]
    assert plan.keep == []


def test_the_audit_record_of_a_resumed_run_names_the_ref(tmp_path):
    b = RegistryBuilder()
    a, b_ = b.image(R, arch="amd64"), b.image(R, arch="arm64")
    b.index(R, [a, b_], ["v1"])
    store = ImmediateStore(b.write_sample(tmp_path / "r.json"))
    cut_off(store, [f"{R}:v1"])

    plan, _ = resumed_plan(store, [f"{R}:v1"])
    audit = tmp_path / "audit.jsonl"
    assert execute_plan(plan, store, audit_log=audit).completed
    record = json.loads(audit.read_text())
    assert record["targets"] == [] and record["resumed"] == [f"{R}:v1"]
    assert {d["digest"] for d in record["deleted"]} == {a.digest, b_.digest}


def test_a_damaged_record_means_nothing_to_resume_not_a_crash(tmp_path, capsys):
    from ocitree.core.interrupted import InterruptedRuns, source_key

    b = RegistryBuilder()
    b.image(R, ["v2"])
    path = b.write_sample(tmp_path / "r.json")
    runs = InterruptedRuns()
    runs.path.parent.mkdir(parents=True, exist_ok=True)
    bad = {"time": 1, "repository": "../x", "digest": "sha256:" + "a" * 64, "leftovers": 7}
    runs.path.write_text(json.dumps({"version": 2, "runs": {source_key(str(path)): {
        f"{R}:v1": bad, f"{R}:v0": {**bad, "repository": R}}}}))
    assert main(["plan", str(path), f"{R}:v1"]) == 2
    assert "no tag 'v1'" in capsys.readouterr().err
    assert main(["plan", str(path), f"{R}:v0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["delete"] == []


def test_a_tagged_accessory_under_a_leftover_index_goes_when_the_run_deleted_its_subject(tmp_path):
    """Found by the property test: the subject went in the cut-off run, the index listing its
    signature did not; finishing deletes the index and the signature, as the full run would have."""
    b = RegistryBuilder()
    a = b.image(R, arch="amd64")
    sig = b.accessory(R, a, "signature", use_subject_field=False)  # known by its cosign tag only
    inner = b.index(R, [sig])
    b.index(R, [a, inner], ["v1"])
    store = ImmediateStore(b.write_sample(tmp_path / "r.json"))
    plan = cut_off(store, [f"{R}:v1"], fail_at=2)
    assert [d.digest for d in plan.delete[1:3]] == [a.digest, inner.digest]

    plan, _ = resumed_plan(store, [f"{R}:v1"])
    assert [(d.digest, d.why) for d in plan.delete] == [(inner.digest, "child"), (sig.digest, "accessory")]
