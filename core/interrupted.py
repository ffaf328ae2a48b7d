"""Deletions cut short, remembered so that running the same delete again finishes the job.

When a run stops half-way (a registry went away, a 500), its targets may already be gone,
so the same REF no longer resolves. The executor records what was not deleted under the
REFs of the run; resolving those REFs again then yields the leftovers still present as
targets, which the planner treats by the same rules.

File: `<state_dir>/interrupted.json`:
`{"version": 1, "runs": {source: {reference: {"time": ..., "leftovers": [[repository, digest], ...]}}}}`
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Iterable
from pathlib import Path

from .durable_files import exclusive_lock, write_atomically
from .errors import UnknownReferenceError
from .model import Registry
from .plan import DeletionPlan, ExecutionResult, TargetRef
from .paths import state_dir
from .references import Reference, parse_reference

VERSION = 1


class InterruptedRuns:
    def __init__(self, path: Path | None = None):
        self.path = path if path is not None else state_dir() / "interrupted.json"

    def _read(self) -> dict:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and doc.get("version") == VERSION and isinstance(doc.get("runs"), dict):
                return doc
        except (OSError, ValueError):
            pass
        return {"version": VERSION, "runs": {}}  # missing or damaged: nothing to resume

    def _update(self, change: Callable[[dict], None]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.path.with_name(self.path.name + ".lock"), 0o600):
            doc = self._read()
            change(doc["runs"])
            doc["runs"] = {s: refs for s, refs in doc["runs"].items() if refs}
            write_atomically(self.path, json.dumps(doc, indent=1).encode(), mode=0o600)

    def record(self, plan: DeletionPlan, result: ExecutionResult) -> None:
        """Remember what a run left; a completed run forgets its references."""
        leftovers = [[n.repository, n.digest] for n in result.not_done]
        stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")

        def change(runs: dict) -> None:
            refs = runs.setdefault(plan.source, {})
            for target in plan.targets:
                for reference in _names(target):
                    if result.completed or not leftovers:
                        refs.pop(reference, None)
                    else:
                        refs[reference] = {"time": stamp, "leftovers": leftovers}

        self._update(change)

    def leftovers(self, source: str, reference: str) -> tuple[str, list[tuple[str, str]]] | None:
        entry = self._read()["runs"].get(source, {}).get(reference)
        if not isinstance(entry, dict):
            return None
        pairs = [(r, d) for r, d in entry.get("leftovers", []) if isinstance(r, str) and isinstance(d, str)]
        return str(entry.get("time", "")), pairs


def _names(target: TargetRef) -> list[str]:
    """A run can be repeated by the REF as typed or by the target's digest."""
    return list(dict.fromkeys([target.reference, f"{target.repository}@{target.digest}"]))


def resolve_targets_resuming(
    registry: Registry, refs: Iterable[str], runs: InterruptedRuns | None = None
) -> tuple[list[TargetRef], list[str]]:
    """Like planner.resolve_targets, but a REF whose artifact an interrupted run already
    deleted resolves to that run's leftovers still present. Returns (targets, notes)."""
    runs = runs or InterruptedRuns()
    targets: list[TargetRef] = []
    notes: list[str] = []
    seen: set[tuple[str, str]] = set()

    def add(repository: str, digest: str, reference: str) -> None:
        if (repository, digest) not in seen:
            seen.add((repository, digest))
            targets.append(TargetRef(repository=repository, digest=digest, reference=reference))

    for text in refs:
        ref: Reference = parse_reference(text)
        try:
            artifact = registry.resolve(ref)
        except UnknownReferenceError:
            found = runs.leftovers(registry.source, str(ref))
            if found is None:
                raise
            when, pairs = found
            present = [(r, d) for r, d in pairs if d in getattr(registry.repositories.get(r), "artifacts", {})]
            if not present:
                raise UnknownReferenceError(
                    f"{ref}: already deleted by an interrupted run ({when}), and nothing it left remains"
                ) from None
            notes.append(f"{ref} was deleted by a run interrupted at {when}; planning the {len(present)} artifacts it left")
            for repository, digest in present:
                add(repository, digest, str(ref))
            continue
        add(artifact.repository, artifact.digest, str(ref))
    return targets, notes
