"""The executor: applies an allowed DeletionPlan to a store, in the plan's order.

Before the first deletion it re-reads the affected repositories under the store's
lock and re-plans; a plan whose outcome would differ is refused as stale. Then it records
what the plan deletes under each REF (write-ahead, core/interrupted.py), so that the same
command finishes a run cut off at any point, ocitree being killed included. It stops
at the first failure and reports exactly what was and was not done.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .audit import append_audit_record
from .errors import BadInputError, OcitreeError, StalePlanError
from .interrupted import InterruptedRuns
from .model import Registry
from .plan import ArtifactRef, DeleteEntry, DeletionPlan, ExecutionResult, FailedStep
from .planner import plan_deletion
from .stores.base import Store

StepCallback = Callable[[int, int, ArtifactRef], None]  # (done, total, artifact just deleted)


def execute_plan(
    plan: DeletionPlan,
    store: Store,
    on_step: StepCallback | None = None,
    audit_log: Path | None = None,
) -> ExecutionResult:
    if not plan.allowed:
        raise BadInputError("refusing to execute a refused plan")
    total = len(plan.delete)
    deleted: list[ArtifactRef] = []
    failed: list[FailedStep] = []
    rewritten: list[ArtifactRef] = []
    with store.session(plan.repositories) as session:
        fresh = session.current()
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
        runs = InterruptedRuns()
        runs.begin(plan, fresh)  # write-ahead: a run killed from here on is finished by running it again
        try:
            # Referrers indexes first: top-down, no index is left listing a deleted accessory.
            for rewrite in plan.rewrite:
                try:
                    session.rewrite_referrers(rewrite.repository, rewrite.digest, set(rewrite.remove))
                except OcitreeError as exc:
                    failed.append(FailedStep(repository=rewrite.repository, digest=rewrite.digest, tags=rewrite.tags,
                                             error=str(exc)))
                    break
                rewritten.append(ArtifactRef(repository=rewrite.repository, digest=rewrite.digest, tags=rewrite.tags))
            for step in (plan.delete if not failed else ()):
                ref = _ref(step)
                try:
                    session.delete(step.repository, step.digest)
                except OcitreeError as exc:
                    failed.append(FailedStep(**ref.model_dump(), error=str(exc)))
                    break
                deleted.append(ref)
                if on_step:
                    on_step(len(deleted), total, ref)
        except KeyboardInterrupt:
            # Stop as at a failure, so that what went is still reported, remembered and audited.
            # The step under way when it came may or may not have gone; the next plan shows which.
            at = _ref(plan.delete[len(deleted)]) if len(deleted) < total else ArtifactRef(repository="", digest="")
            failed.append(FailedStep(**at.model_dump(), error="interrupted (Ctrl-C)"))
        if failed and session.applies_at_commit:
            deleted, rewritten = [], []  # nothing reached the store: commit() is never called
        if not failed:
            try:
                session.commit()
            except OcitreeError as exc:
                # A file store writes at commit: only what it made durable before failing counts.
                failed.append(FailedStep(repository="", digest="", tags=[], error=str(exc)))
                deleted = [d for d in deleted if d.repository in session.committed_before_failure]
                rewritten = [r for r in rewritten if r.repository in session.committed_before_failure]
    done = {(d.repository, d.digest) for d in deleted}
    not_done = [
        ArtifactRef(repository=s.repository, digest=s.digest, tags=s.tags)
        for s in plan.delete
        if (s.repository, s.digest) not in done
    ]
    result = ExecutionResult(completed=not failed, deleted=deleted, failed=failed, not_done=not_done,
                             rewritten=rewritten)
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


def _ref(step: DeleteEntry) -> ArtifactRef:
    return ArtifactRef(repository=step.repository, digest=step.digest, tags=step.tags)


def _holds(registry: Registry, repository: str, digest: str) -> bool:
    repo = registry.repositories.get(repository)
    return repo is not None and digest in repo.artifacts
