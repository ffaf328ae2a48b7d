"""The executor: applies an allowed DeletionPlan to a store, in the plan's order.

Before the first deletion it re-reads the affected repositories under the store's
lock and re-plans; a plan whose outcome would differ is refused as stale. Then it records
what the plan deletes under each REF (write-ahead, core/interrupted.py), so that the same
command finishes a run cut off at any point, ocitree being killed included. It stops
at the first failure and reports as deleted exactly what the store says became durable
(a registry at each DELETE, a file store at commit).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .audit import append_audit_record
from .errors import BadInputError, OcitreeError, StalePlanError
from .interrupted import InterruptedRuns
from .model import Registry
from .plan import ArtifactRef, DeleteEntry, DeletionPlan, ExecutionResult, FailedStep, RewriteEntry
from .planner import plan_deletion
from .stores.base import Deletion, DurableSteps, Store
from .undo.recorder import UndoRecorder

StepCallback = Callable[[int, int, ArtifactRef], None]  # (done, total, artifact just deleted)


def execute_plan(
    plan: DeletionPlan,
    store: Store,
    on_step: StepCallback | None = None,
    audit_log: Path | None = None,
) -> ExecutionResult:
    if not plan.allowed:
        raise BadInputError("refusing to execute a refused plan")
    with store.session(plan.repositories) as session:
        fresh = session.current()
        _refuse_if_stale(plan, fresh)
        deletion = session.begin(fresh)
        undo = UndoRecorder(plan, store, fresh)  # each step saves what it deletes first, for `ocitree undo`
        runs = InterruptedRuns()
        runs.begin(plan, fresh)  # write-ahead: a run killed from here on is finished by running it again
        failed = _apply(plan, deletion, on_step, undo)
        if failed is None:
            try:
                deletion.commit()
            except OcitreeError as exc:
                failed = FailedStep(repository="", digest="", tags=[], error=str(exc))
    result = _result(plan, deletion.durable, failed)
    undo.finish(result)
    try:
        runs.finish(plan, result)
    except OSError:
        pass  # the write-ahead record stands: the next run re-checks whatever it names
    if audit_log is not None:
        try:
            append_audit_record(audit_log, plan, result)
            result.audit_log = str(audit_log)
        except OSError:
            result.audit_log = None  # the deletion stands; the caller warns that the record is missing
    return result


def _refuse_if_stale(plan: DeletionPlan, fresh: Registry) -> None:
    missing_targets = [t for t in plan.targets if not _holds(fresh, t.repository, t.digest)]
    if missing_targets:
        raise StalePlanError(
            f"the source changed since the plan was made: {missing_targets[0].reference} is gone; nothing was deleted"
        )
    new_plan = plan_deletion(fresh, plan.targets, plan.protect, plan.resumed)
    if new_plan.fingerprint() != plan.fingerprint():
        raise StalePlanError(
            "the source changed since the plan was made; nothing was deleted. Review the new plan and run again",
            new_plan=new_plan,
        )


def _apply(plan: DeletionPlan, deletion: Deletion, on_step: StepCallback | None,
           undo: UndoRecorder) -> FailedStep | None:
    """Every step in the plan's order, stopping at the first failure, which it returns."""
    total = len(plan.delete)
    done = 0
    step: RewriteEntry | DeleteEntry | None = None
    try:
        # Referrers indexes first: top-down, no index is left listing a deleted accessory.
        for step in plan.rewrite:
            undo.save(step.repository, step.digest, rewritten=True)
            deletion.rewrite_referrers(step.repository, step.digest, set(step.remove))
        for step in plan.delete:
            undo.save(step.repository, step.digest)
            deletion.delete(step.repository, step.digest)
            done += 1
            if on_step:
                on_step(done, total, _ref(step))
    except OcitreeError as exc:
        assert step is not None
        return FailedStep(**_ref(step).model_dump(), error=str(exc))
    except KeyboardInterrupt:
        # Stop as at a failure, so that what went is still reported, remembered and audited.
        # The step under way when it came may or may not have gone; the next plan shows which.
        at = _ref(plan.delete[done]) if done < total else ArtifactRef(repository="", digest="")
        return FailedStep(**at.model_dump(), error="interrupted (Ctrl-C)")
    return None


def _result(plan: DeletionPlan, durable: DurableSteps, failed: FailedStep | None) -> ExecutionResult:
    """Deleted is what reached the store, whatever the kind of store and wherever it stopped."""
    return ExecutionResult(
        completed=failed is None,
        deleted=[_ref(s) for s in plan.delete if (s.repository, s.digest) in durable.deleted],
        failed=[failed] if failed else [],
        not_done=[_ref(s) for s in plan.delete if (s.repository, s.digest) not in durable.deleted],
        rewritten=[_ref(r) for r in plan.rewrite if (r.repository, r.digest) in durable.rewritten],
    )


def _ref(step: DeleteEntry | RewriteEntry) -> ArtifactRef:
    return ArtifactRef(repository=step.repository, digest=step.digest, tags=step.tags)


def _holds(registry: Registry, repository: str, digest: str) -> bool:
    repo = registry.repositories.get(repository)
    return repo is not None and digest in repo.artifacts
