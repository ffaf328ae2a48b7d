"""Two ocitree processes on one sample file lose neither deletion, and a plan made on a state
that has since changed is refused (exit 3) instead of being applied."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ocitree.core.errors import StalePlanError
from ocitree.core.executor import execute_plan
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.core.stores.sample import SampleStore
from ocitree.sample_data.builder import RegistryBuilder
from ocitree.sample_data.generate import Shape, repository_name, write_sample

# Each process runs ocitree's own entry point (ocitree.tui.cli:main, what the `ocitree` script calls):
# imports first, then says it is ready and waits for the barrier, so both start deleting together.
_RACER = """
import os, sys, time
from ocitree.tui.cli import main
ready, barrier, args = sys.argv[1], sys.argv[2], sys.argv[3:]
open(ready, "w").close()
while not os.path.exists(barrier):
    time.sleep(0.0005)
sys.exit(main(args))
"""


def _state(path: Path) -> dict[tuple[str, str], list[str]]:
    registry = SampleStore(path).load()
    return {(r.name, d): sorted(a.tags) for r in registry.repositories.values() for d, a in r.artifacts.items()}


def _race(tmp_path: Path, path: Path, refs: list[str]) -> list[subprocess.CompletedProcess]:
    barrier = tmp_path / "go"
    procs = []
    for i, ref in enumerate(refs):
        cmd = [sys.executable, "-c", _RACER, str(tmp_path / f"ready{i}"), str(barrier), "delete", str(path), ref, "--yes", "--json"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2]))
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{i}").exists() for i in range(len(refs))):
        assert time.monotonic() < deadline, "racers never got ready"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.01)
    barrier.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return results


@pytest.mark.parametrize("round_", range(3))
def test_two_processes_deleting_at_once_both_land(round_, tmp_path, isolated_home):
    # A file of ~1,100 artifacts: loading takes long enough that both processes overlap.
    path = tmp_path / "registry.json"
    write_sample(Shape(repositories=1, indexes=100, children=10, share=0.0, tagged=1.0, accessories=0.0, seed=round_), path)
    repo = repository_name(0)
    before = _state(path)
    refs = [f"{repo}:build-1", f"{repo}:build-2"]
    registry = SampleStore(path).load()
    expected_gone = set()
    for ref in refs:
        plan = plan_deletion(registry, resolve_targets(registry, [ref]))
        assert plan.allowed and len(plan.delete) == 11
        expected_gone |= {(d.repository, d.digest) for d in plan.delete}

    results = _race(tmp_path, path, refs)
    for r in results:
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["completed"] is True
    assert _state(path) == {k: v for k, v in before.items() if k not in expected_gone}
    audit = (isolated_home / "state" / "ocitree" / "audit.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["targets"][0] for line in audit) == sorted(refs)


def _two_indexes_sharing_a_child(path: Path):
    b = RegistryBuilder()
    shared, a, c = b.image("team/app", arch="amd64"), b.image("team/app", arch="arm64"), b.image("team/app", arch="s390x")
    one, two = b.index("team/app", [shared, a], ["one"]), b.index("team/app", [shared, c], ["two"])
    b.image("team/other", ["v1"])
    b.write_sample(path)
    return shared, one, two


def test_plan_made_before_the_source_changed_is_refused_and_nothing_is_deleted(tmp_path):
    path = tmp_path / "registry.json"
    shared, one, two = _two_indexes_sharing_a_child(path)
    store = SampleStore(path)
    registry = store.load()
    stale = plan_deletion(registry, resolve_targets(registry, ["team/app:one"]))
    assert {k.digest for k in stale.keep} == {shared.digest}  # kept: `two` still lists it

    # Meanwhile someone else deletes `two`: deleting `one` would now take the shared child too.
    other = SampleStore(path)
    fresh = other.load()
    assert execute_plan(plan_deletion(fresh, resolve_targets(fresh, ["team/app:two"])), other).completed
    changed = path.read_bytes()

    with pytest.raises(StalePlanError) as caught:
        execute_plan(stale, store)
    assert caught.value.exit_code == 3
    assert "changed since the plan was made" in str(caught.value)
    assert shared.digest in {d.digest for d in caught.value.new_plan.delete}  # the plan it would be now
    assert path.read_bytes() == changed


def test_plan_whose_target_has_gone_is_refused(tmp_path):
    path = tmp_path / "registry.json"
    _, one, _ = _two_indexes_sharing_a_child(path)
    store = SampleStore(path)
    registry = store.load()
    stale = plan_deletion(registry, resolve_targets(registry, ["team/app:one"]))
    fresh = store.load()
    assert execute_plan(plan_deletion(fresh, resolve_targets(fresh, ["team/app:one"])), store).completed
    changed = path.read_bytes()
    with pytest.raises(StalePlanError, match="team/app:one is gone"):
        execute_plan(stale, store)
    assert path.read_bytes() == changed


def test_plan_refused_when_a_child_gained_a_tag(tmp_path):
    path = tmp_path / "registry.json"
    shared, one, two = _two_indexes_sharing_a_child(path)
    store = SampleStore(path)
    registry = store.load()
    stale = plan_deletion(registry, resolve_targets(registry, ["team/app:one", "team/app:two"]))
    assert shared.digest in {d.digest for d in stale.delete}
    doc = json.loads(path.read_text())
    for entry in doc["repositories"]["team/app"]:
        if entry["digest"] == shared.digest:
            entry["tags"] = ["pinned"]
    path.write_text(json.dumps(doc))
    changed = path.read_bytes()
    with pytest.raises(StalePlanError):
        execute_plan(stale, store)
    assert path.read_bytes() == changed


def test_plan_still_applies_after_an_unrelated_change(tmp_path):
    path = tmp_path / "registry.json"
    shared, one, two = _two_indexes_sharing_a_child(path)
    store = SampleStore(path)
    registry = store.load()
    plan = plan_deletion(registry, resolve_targets(registry, ["team/app:one"]))
    other = SampleStore(path)
    fresh = other.load()
    assert execute_plan(plan_deletion(fresh, resolve_targets(fresh, ["team/other:v1"])), other).completed
    result = execute_plan(plan, store)
    assert result.completed
    left = _state(path)
    assert (("team/app", one.digest) not in left) and (("team/app", shared.digest) in left)
    assert not any(repo == "team/other" for repo, _ in left)
