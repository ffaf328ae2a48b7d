"""A plan being worked out stops once cancelled (core.cancellation): the TUI's Esc must not leave
a thread holding the CPU for seconds on a plan nobody waits for."""

from __future__ import annotations

import threading

import pytest

from ocitree.core import planner
from ocitree.core.cancellation import PlanCancelled, stopped_by
from ocitree.core.plan import TargetRef
from ocitree.core.planner import plan_deletion
from ocitree.core.prune import PruneRule, plan_prune, select_by_rule
from ocitree.sample_data.generate import Shape, generate_registry


def _registry(repositories: int = 3, indexes: int = 40):
    return generate_registry(Shape(repositories=repositories, indexes=indexes, children=4, seed=3))


def _every_index(registry) -> list[TargetRef]:
    return [TargetRef(repository=a.repository, digest=a.digest, reference=f"{a.repository}@{a.digest}")
            for r in registry.repositories.values() for a in r.top_level_in_order() if a.is_index]


def test_outside_a_scope_or_with_the_flag_down_a_plan_is_whole():
    registry = _registry()
    targets = _every_index(registry)
    whole = plan_deletion(registry, targets)
    with stopped_by(threading.Event()):
        assert plan_deletion(registry, targets).to_json_dict() == whole.to_json_dict()
    assert len(whole.delete) > len(targets)


def test_a_flag_set_before_stops_the_plan_and_the_prune():
    registry = _registry()
    flag = threading.Event()
    flag.set()
    with stopped_by(flag), pytest.raises(PlanCancelled):
        plan_deletion(registry, _every_index(registry))
    selection = select_by_rule(registry, PruneRule(keep_last=1), now=0)
    with stopped_by(flag), pytest.raises(PlanCancelled):
        plan_prune(registry, selection)
    plan_prune(registry, selection)  # the scope is over: not stopped


def test_a_flag_set_while_planning_stops_before_the_next_repository(monkeypatch):
    registry = _registry(repositories=4)
    flag = threading.Event()
    planned: list[str] = []
    real_run = planner._RepositoryPlan.run

    def run_then_cancel(self, *args, **kwargs):  # Esc pressed while the first repository is planned
        planned.append(self.repo.name)
        flag.set()
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(planner._RepositoryPlan, "run", run_then_cancel)
    with stopped_by(flag), pytest.raises(PlanCancelled):
        plan_deletion(registry, _every_index(registry))
    assert len(planned) == 1


def test_one_big_repository_stops_inside_its_cascade(monkeypatch):
    registry = _registry(repositories=1, indexes=600)
    flag = threading.Event()
    looked: list[str] = []
    real = planner._RepositoryPlan._rule3_children

    def children_then_cancel(self, digest):
        looked.append(digest)
        flag.set()
        return real(self, digest)

    monkeypatch.setattr(planner._RepositoryPlan, "_rule3_children", children_then_cancel)
    with stopped_by(flag), pytest.raises(PlanCancelled):
        plan_deletion(registry, _every_index(registry))
    assert 1 <= len(looked) <= 256 < 600  # looked at every 256 indexes, not after all 600
