"""Every public scenario end to end through the command line, on every kind of source:
`plan --json` says what the rules say, `delete --yes` exits as documented, and afterwards the
source holds exactly what the scenario leaves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ocitree.core.sources import open_store
from ocitree.sample_data.builder import BuiltManifest, RegistryBuilder
from tests.helpers.scenarios import SCENARIOS, Scenario, ref_for
from ocitree.tui.cli import main

OCITREE = Path(sys.executable).parent / "ocitree"
PLAN_FIELDS = {"allowed", "targets", "refusals", "delete", "keep", "missing", "tags_removed", "reclaimable_bytes"}
DELETE_FIELDS = {"repository", "digest", "media_type", "kind", "tags", "why", "via", "size", "platform"}
RESULT_FIELDS = {"deleted", "failed", "not_done", "completed"}

# What the table in docs/deletion-semantics.md says beyond "deleted".
KEPT_BECAUSE = {3: {"C10": ("shared", ["K"])}, 4: {"A": ("tagged", [])}, 8: {"I1": ("tagged", [])}}
REFUSED_PARENTS = {5: ["I"], 6: ["I"]}
WHY = {2: {"I": "target", "A": "child", "B": "child"}, 7: {"R": "target", "I1": "child", "C1": "child", "C3": "child"},
       9: {"M": "target", "S": "accessory"}, 10: {"S": "target"}}
ORDER = {7: [("R", "I1"), ("I1", "C1"), ("I1", "C2"), ("R", "C3")], 9: [("M", "S")], 2: [("I", "A"), ("I", "B")]}


def contents(source: str, repositories: set[str]) -> dict[tuple[str, str], list[str]]:
    """(repository, digest) -> sorted tags, read back through core as any user of the source would."""
    store = open_store(source)
    try:
        registry = store.load()
    finally:
        store.close()
    return {
        (r.name, d): sorted(a.tags)
        for r in registry.repositories.values()
        if r.name in repositories
        for d, a in r.artifacts.items()
    }


def build(scenario: Scenario, make_source) -> tuple[dict[str, BuiltManifest], str, list[str], list[str]]:
    builder = RegistryBuilder()
    built = scenario.build(builder, scenario.repo)
    source = make_source(builder)
    refs = [ref_for(scenario, built, t) for t in scenario.targets]
    protect = [arg for p in scenario.protect for arg in ("--protect", p)]
    return built, source, refs, protect


def target_digest(scenario: Scenario, built: dict[str, BuiltManifest], target: str) -> str:
    if target.startswith(":"):
        return next(m.digest for m in built.values() if m.repository == scenario.repo and target[1:] in m.tags)
    return built[target].digest


def check_plan(doc: dict, scenario: Scenario, built: dict[str, BuiltManifest], kind: str = "sample") -> None:
    assert PLAN_FIELDS <= set(doc)
    name_of = {(m.repository, m.digest): n for n, m in built.items()}
    assert [(t["repository"], t["digest"]) for t in doc["targets"]] == [
        (scenario.repo, target_digest(scenario, built, t)) for t in scenario.targets
    ]
    if scenario.refused:
        assert doc["allowed"] is False
        assert {r["reason"] for r in doc["refusals"]} == {scenario.refused}
        assert doc["delete"] == [] and doc["tags_removed"] == []
        if scenario.number in REFUSED_PARENTS:
            (refusal,) = doc["refusals"]
            parents = [(p["digest"], p["tags"]) for p in refusal["parents"]]
            assert parents == [(built[n].digest, built[n].tags) for n in REFUSED_PARENTS[scenario.number]]
        if scenario.refused == "protected_tag":
            (refusal,) = doc["refusals"]
            assert (refusal["tag"], refusal["rule"]) == ("v1", "v1")
        return

    assert doc["allowed"] is True and doc["refusals"] == []
    deleted = {(d["repository"], d["digest"]): d for d in doc["delete"]}
    assert set(deleted) == {(built[n].repository, built[n].digest) for n in scenario.deleted}
    for entry in doc["delete"]:
        assert DELETE_FIELDS <= set(entry)
        m = built[name_of[(entry["repository"], entry["digest"])]]
        assert entry["size"] == m.size and sorted(entry["tags"]) == sorted(m.tags) and entry["media_type"] == m.media_type
    for name, why in WHY.get(scenario.number, {}).items():
        assert deleted[(scenario.repo, built[name].digest)]["why"] == why
    position = {(d["repository"], d["digest"]): i for i, d in enumerate(doc["delete"])}
    for first, then in ORDER.get(scenario.number, []):
        assert position[(scenario.repo, built[first].digest)] < position[(scenario.repo, built[then].digest)]
    if scenario.number == 2:
        platforms = {name_of[(d["repository"], d["digest"])]: d["platform"] for d in doc["delete"]}
        assert platforms == {"I": None, "A": "linux/amd64", "B": "linux/arm64"}
    if scenario.number == 9:
        assert deleted[(scenario.repo, built["S"].digest)]["kind"] == "signature"

    kept = {k["digest"]: k for k in doc["keep"]}
    expected_keep = KEPT_BECAUSE.get(scenario.number, {})
    assert set(kept) == {built[n].digest for n in expected_keep}
    for name, (reason, parents) in expected_keep.items():
        k = kept[built[name].digest]
        assert k["reason"] == reason
        assert [p["digest"] for p in k["parents"]] == [built[p].digest for p in parents]
        assert sorted(k["tags"]) == sorted(built[name].tags)

    expected_tags = {f"{built[n].repository}:{t}" for n in scenario.deleted for t in built[n].tags}
    assert set(doc["tags_removed"]) == expected_tags
    if scenario.tags_removed:
        assert {t.split(":", 1)[1] for t in doc["tags_removed"]} == scenario.tags_removed
    if scenario.number == 12 and kind != "layout":
        # One blob store for the whole registry: s12/other's copy keeps every blob (garbage-collect frees nothing).
        assert doc["reclaimable_bytes"] == 0
    else:
        assert doc["reclaimable_bytes"] >= sum(built[n].size for n in scenario.deleted)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"s{s.number}")
def test_scenario_through_the_command_line(scenario: Scenario, make_source, capsys):
    built, source, refs, protect = build(scenario, make_source)
    repositories = {m.repository for m in built.values()}
    before = contents(source, repositories)
    assert before == {(m.repository, m.digest): sorted(m.tags) for m in built.values()}, "the source holds what was built"
    raw = Path(source).read_bytes() if make_source.kind == "sample" else None

    code = main(["plan", source, *refs, *protect, "--json"])
    captured = capsys.readouterr()
    assert code == (3 if scenario.refused else 0), captured.err
    check_plan(json.loads(captured.out), scenario, built, make_source.kind)
    assert contents(source, repositories) == before, "plan changed the source"

    code = main(["delete", source, *refs, *protect, "--yes", "--json"])
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert RESULT_FIELDS <= set(doc)
    goes = {(built[n].repository, built[n].digest) for n in scenario.deleted}
    if scenario.refused:
        assert code == 3, captured.err
        assert doc["completed"] is False and doc["deleted"] == [] and doc["allowed"] is False
        assert contents(source, repositories) == before
        if raw is not None:
            assert Path(source).read_bytes() == raw
        return
    assert code == 0, captured.err
    assert doc["completed"] is True and doc["failed"] == [] and doc["not_done"] == []
    assert {(d["repository"], d["digest"]) for d in doc["deleted"]} == goes
    assert contents(source, repositories) == {k: v for k, v in before.items() if k not in goes}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(OCITREE), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)


def test_installed_command_deletes_harbors_example(make_source):
    scenario = SCENARIOS[2]
    assert scenario.number == 3
    built, source, refs, _ = build(scenario, make_source)
    repositories = {scenario.repo}
    before = contents(source, repositories)
    proc = _run("delete", source, *refs, "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "deleted 10 artifacts" in proc.stdout.lower()
    left = contents(source, repositories)
    assert set(left) == {(scenario.repo, built["C10"].digest), (scenario.repo, built["K"].digest)}
    assert left == {k: v for k, v in before.items() if k in left}


def test_installed_command_refuses_a_referenced_child_and_exits_3(make_source):
    scenario = SCENARIOS[5]
    assert scenario.number == 6
    built, source, refs, _ = build(scenario, make_source)
    before = contents(source, {scenario.repo})
    proc = _run("delete", source, *refs, "--yes")
    assert proc.returncode == 3, proc.stderr
    assert f"{scenario.repo}:latest" in proc.stdout  # the parent that holds it, by its tag
    assert contents(source, {scenario.repo}) == before
