"""The executor's report when a run is cut off by something other than a store error."""

from __future__ import annotations

import json

from ocitree.core.executor import execute_plan
from ocitree.core.interrupted import InterruptedRuns
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.immediate_store import ImmediateStore

R = "team/app"


def test_ctrl_c_mid_run_is_reported_audited_and_resumable(tmp_path):
    b = RegistryBuilder()
    index = b.index(R, [b.image(R, arch="amd64"), b.image(R, arch="arm64")], ["latest"])
    store = ImmediateStore(b.write_sample(tmp_path / "registry.json"))
    registry = store.load()
    plan = plan_deletion(registry, resolve_targets(registry, [f"{R}:latest"]))
    assert plan.delete[0].digest == index.digest and len(plan.delete) == 3

    def interrupt_after_first(done, total, ref):
        if done == 1:
            raise KeyboardInterrupt

    audit = tmp_path / "audit.jsonl"
    result = execute_plan(plan, store, on_step=interrupt_after_first, audit_log=audit)

    assert not result.completed
    assert [d.digest for d in result.deleted] == [index.digest]
    assert {n.digest for n in result.not_done} == {d.digest for d in plan.delete[1:]}
    assert "interrupted" in result.failed[0].error
    record = json.loads(audit.read_text())
    assert record["result"] == "incomplete" and record["deleted"][0]["digest"] == index.digest
    # The REF no longer resolves, but the run's leftovers are remembered under it.
    resumed = InterruptedRuns().lookup("immediate", f"{R}:latest")
    assert resumed.digest == index.digest and set(resumed.leftovers) == {d.digest for d in plan.delete[1:]}
