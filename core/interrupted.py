"""Deletions cut short, remembered so that running the same delete again finishes the job.

Write-ahead: before a run's first write, the executor records under each REF of the plan
(as typed, and as repository@digest) the REF's artifact and what the plan deletes under it:
the artifacts reached from it through children and accessories, and nothing another REF
alone brought in. If the run stops (a failure, Ctrl-C, or ocitree killed), the record stays;
resolving that REF again, once its artifact is gone, yields a ResumedRef, and the planner
treats the leftovers still present as children of the deleted artifact, by the same rules
as any plan (a tag, a new parent or a protected tag counts as it would in a fresh plan).
A completed run forgets its REFs; a run that stopped keeps them.

File: `<state_dir>/interrupted.json`, rewritten atomically under a sidecar lock:
`{"version": 2, "runs": {source: {reference: {"time": ..., "repository": ..., "digest": ...,
"leftovers": [digest, ...], "rule": ...}}}}`; `rule`, written by `ocitree prune`, names the rule
that chose the REF, so that the same prune finishes the run (a different rule names other REFs). Version 1 files (leftovers of a whole run under every REF)
are not used: they cannot tell one REF's leftovers from another's.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from pathlib import Path

from .durable_files import exclusive_lock, write_atomically
from .errors import OcitreeError, StoreError, UnknownReferenceError
from .model import Registry
from .names import is_digest, is_repository_name
from .paths import state_dir
from .references import Reference, parse_reference

if TYPE_CHECKING:  # core.plan is pydantic: `ocitree ls` notes cut-off runs without importing it (issue 10)
    from .plan import DeletionPlan, ExecutionResult, ResumedRef, TargetRef

VERSION = 2


def source_key(source: str) -> str:
    """A file or directory source by its real path, so `./layouts` and `/srv/layouts` are one."""
    if "://" not in source and os.path.exists(source):
        return os.path.realpath(source)
    return source


class InterruptedRuns:
    def __init__(self, path: Path | None = None):
        self.path = path if path is not None else state_dir() / "interrupted.json"

    def _read(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and doc.get("version") == VERSION and isinstance(doc.get("runs"), dict):
                return doc
        except (OSError, ValueError):
            pass
        return {"version": VERSION, "runs": {}}  # missing, damaged or an older format: nothing to resume

    def _update(self, change: Callable[[dict[str, Any]], None]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.path.with_name(self.path.name + ".lock"), 0o600):
            doc = self._read()
            change(doc["runs"])
            doc["runs"] = {s: refs for s, refs in doc["runs"].items() if refs}
            write_atomically(self.path, json.dumps(doc, indent=1).encode(), mode=0o600)

    def begin(self, plan: DeletionPlan, registry: Registry) -> None:
        """Write ahead, before the run's first write: what the plan deletes under each REF.
        `registry` is the state the plan was checked against. Raises StoreError."""
        deleting: dict[str, set[str]] = {}
        for repository, digest, _ in plan.delete.keys():  # without making the entries
            deleting.setdefault(repository, set()).add(digest)
        stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        entries: dict[str, dict[str, Any]] = {}
        for target in plan.targets:
            under = _reached(registry, target.repository, [target.digest], deleting.get(target.repository, set()))
            entry = {"time": stamp, "repository": target.repository, "digest": target.digest, "leftovers": under}
            if plan.prune_rule is not None:
                entry["rule"] = plan.prune_rule
            for name in _names(target.reference, target.repository, target.digest):
                entries[name] = entry
        for r in plan.resumed:
            repo_deleting = deleting.get(r.repository, set())
            under = _reached(registry, r.repository, [d for d in r.leftovers if d in repo_deleting], repo_deleting)
            entry = {"time": r.time or stamp, "repository": r.repository, "digest": r.digest,
                     "leftovers": list(dict.fromkeys([*r.leftovers, *under]))}
            for name in _names(r.reference, r.repository, r.digest):
                entries[name] = entry

        def change(runs: dict[str, Any]) -> None:
            refs = runs.setdefault(source_key(plan.source), {})
            for name, entry in entries.items():
                old = refs.get(name)
                # The rule that chose this artifact still chose it when another command re-runs it.
                if "rule" not in entry and isinstance(old, dict) and isinstance(old.get("rule"), str) \
                        and (old.get("repository"), old.get("digest")) == (entry["repository"], entry["digest"]):
                    entry = {**entry, "rule": old["rule"]}
                refs[name] = entry

        try:
            self._update(change)
        except OSError as exc:
            raise StoreError(
                f"cannot record the deletion in {self.path} before starting ({exc.strerror}), so an interrupted run "
                "could not be finished by running it again; nothing was deleted. Make that directory writable "
                "(or set XDG_STATE_HOME)"
            ) from None

    def finish(self, plan: DeletionPlan, result: ExecutionResult) -> None:
        """A completed run forgets its REFs; a stopped one keeps the record of each REF it deleted
        anything under, for the same command to finish."""
        deleted = {(d.repository, d.digest) for d in result.deleted}
        names = [n for t in plan.targets for n in _names(t.reference, t.repository, t.digest)]
        names += [n for r in plan.resumed for n in _names(r.reference, r.repository, r.digest)]

        def change(runs: dict[str, Any]) -> None:
            refs = runs.get(source_key(plan.source), {})
            for name in names:
                entry = refs.get(name)
                if not isinstance(entry, dict):
                    continue
                repository, digest = entry.get("repository"), entry.get("digest")
                if result.completed:
                    refs.pop(name, None)
                elif (repository, digest) not in deleted and not _is_resumed(plan, name):
                    # Its own artifact still stands, so (top-down order) nothing under it went: the REF resolves as before.
                    refs.pop(name, None)
                # Otherwise the entry stays whole: what it lists that is gone tells the planner what the
                # run deleted (a tagged accessory of a deleted leftover goes with it, rule 5).

        self._update(change)

    def lookup(self, source: str, reference: str) -> ResumedRef | None:
        return _resumed(reference, self._read()["runs"].get(source_key(source), {}).get(reference))

    def recorded(self, source: str, rule: str | None = None) -> list[ResumedRef]:
        """Every REF recorded for `source` (with `rule`: only those that prune rule chose), the REF
        as typed before its `repository@digest` name."""
        refs = self._read()["runs"].get(source_key(source), {})
        found = []
        for name in sorted(refs, key=lambda n: "@" in n):
            if rule is not None and (not isinstance(refs[name], dict) or refs[name].get("rule") != rule):
                continue
            try:
                reference = str(parse_reference(name))  # a damaged key is skipped, never printed
            except OcitreeError:
                continue
            resumed = _resumed(reference, refs[name])
            if resumed is not None:
                found.append(resumed)
        return found


def _resumed(reference: str, entry: object) -> ResumedRef | None:
    if not isinstance(entry, dict):
        return None
    repository, digest = entry.get("repository"), entry.get("digest")
    if not is_repository_name(repository) or not is_digest(digest):
        return None  # damaged: nothing to resume under this REF
    leftovers = [d for d in _list(entry.get("leftovers")) if is_digest(d)]
    from .plan import ResumedRef

    return ResumedRef(reference=reference, repository=repository, digest=digest,
                      time=_time(entry.get("time")), leftovers=leftovers)


def unfinished_notes(registry: Registry, runs: InterruptedRuns | None = None) -> list[str]:
    """One line per REF of this source whose cut-off run left artifacts that are still present:
    what explains untagged leftovers in a listing, and how to finish."""
    notes: list[str] = []
    seen: set[tuple[str, str]] = set()
    for found in (runs or InterruptedRuns()).recorded(registry.source):
        repo = registry.repositories.get(found.repository)
        if repo is None or (found.repository, found.digest) in seen or found.digest in repo.artifacts:
            continue
        seen.add((found.repository, found.digest))
        present = sum(1 for d in dict.fromkeys(found.leftovers) if d in repo.artifacts)
        if present:
            notes.append(f"{found.reference}: a delete interrupted at {found.time} left {present} "
                         f"artifact{'s' if present != 1 else ''}; run 'ocitree delete {registry.source} "
                         f"{found.reference}' again to finish")
    return notes


def _time(value: object) -> str:
    """The recorded time as written by begin(), or a neutral word for anything else."""
    try:
        return _dt.datetime.fromisoformat(value).isoformat() if isinstance(value, str) else "an unknown time"
    except ValueError:
        return "an unknown time"


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _is_resumed(plan: DeletionPlan, name: str) -> bool:
    return any(name in _names(r.reference, r.repository, r.digest) for r in plan.resumed)


def _names(reference: str, repository: str, digest: str) -> list[str]:
    """A run can be repeated by the REF as typed or by the artifact's digest."""
    return list(dict.fromkeys([reference, f"{repository}@{digest}"]))


def _reached(registry: Registry, repository: str, starts: Iterable[str], deleting: set[str]) -> list[str]:
    """What the plan deletes that `starts` reach through children and accessories (starts excluded)."""
    repo = registry.repositories.get(repository)
    if repo is None:
        return []
    starts = list(starts)
    seen = set(starts)
    order: list[str] = []
    queue = deque(starts)
    while queue:
        digest = queue.popleft()
        artifact = repo.artifacts.get(digest)
        following = [c.digest for c in artifact.children] if artifact else []
        following += repo.accessories_of(digest)
        for d in following:
            if d in deleting and d not in seen:
                seen.add(d)
                order.append(d)
                queue.append(d)
    return order


def resolve_targets_resuming(
    registry: Registry, refs: Iterable[str], runs: InterruptedRuns | None = None
) -> tuple[list[TargetRef], list[ResumedRef], list[str]]:
    """Like planner.resolve_targets, but a REF whose artifact a cut-off run already deleted
    resolves to a ResumedRef for the planner. Returns (targets, resumed, notes)."""
    from .plan import TargetRef

    runs = runs or InterruptedRuns()
    targets: list[TargetRef] = []
    resumed: list[ResumedRef] = []
    notes: list[str] = []
    seen: set[tuple[str, str]] = set()
    for text in refs:
        ref: Reference = parse_reference(text)
        try:
            artifact = registry.resolve(ref)
        except UnknownReferenceError:
            found = runs.lookup(registry.source, str(ref))
            if found is None or found.repository not in registry.repositories:
                raise  # never recorded, or its repository is gone with everything in it
            if (found.repository, found.digest) in seen:
                continue
            seen.add((found.repository, found.digest))
            repo = registry.repositories[found.repository]
            present = [d for d in found.leftovers if d in repo.artifacts]
            if present:
                notes.append(f"{ref} was deleted by a run interrupted at {found.time}; "
                             f"planning the {len(present)} artifact{'s' if len(present) != 1 else ''} it left")
            else:
                notes.append(f"{ref} was deleted by a run interrupted at {found.time}; nothing it left remains")
            resumed.append(found)
            continue
        key = (artifact.repository, artifact.digest)
        if key not in seen:
            seen.add(key)
            targets.append(TargetRef(repository=artifact.repository, digest=artifact.digest, reference=str(ref)))
    return targets, resumed, notes


def resumed_by_rule(
    registry: Registry, rule: str, runs: InterruptedRuns | None = None
) -> tuple[list[ResumedRef], list[str]]:
    """The REFs a cut-off `ocitree prune` with this same rule already deleted and whose leftovers
    are still present: the prune resumes them as `delete` resumes a REF named again. Only the
    rule's own REFs: leftovers of another command's run are that command's to finish (or the
    leftovers view's). Returns (resumed, notes)."""
    resumed: list[ResumedRef] = []
    notes: list[str] = []
    seen: set[tuple[str, str]] = set()
    for found in (runs or InterruptedRuns()).recorded(registry.source, rule):
        repo = registry.repositories.get(found.repository)
        key = (found.repository, found.digest)
        if repo is None or key in seen or found.digest in repo.artifacts:
            continue  # its repository is gone, or its artifact stands and the rule selects it afresh
        seen.add(key)
        present = sum(1 for d in dict.fromkeys(found.leftovers) if d in repo.artifacts)
        if present:
            notes.append(f"{found.reference} was deleted by a prune interrupted at {found.time}; "
                         f"planning the {present} artifact{'s' if present != 1 else ''} it left")
            resumed.append(found)
    return resumed, notes
