"""Undoing a run: the plan (what comes back, what is in the way, what is gone for good), then the restore.

The plan is checked against the source as it is now, before anything is written:
- a saved artifact the source still has (a run cut off before deleting it, or restored already) is left alone;
- a saved tag that now names another artifact is a conflict: refused unless `retag` moves it back;
- a blob (or a manifest not saved) that a restored artifact needs and the source no longer has
  (its garbage collector ran) makes the run impossible to undo: it is named and nothing is written.
The restore goes bottom-up (children before the indexes listing them, subjects before their
accessories), tags last, and is itself a run in the history and a line in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..audit import append_audit_line, os_user
from ..errors import BadInputError, OcitreeError, StoreError
from ..model import Registry
from ..stores.base import Store
from .adapter import MissingContent, UndoAdapter, adapter_for
from .saved import Run, RunBook, SavedArtifact, mark_undone, now_text, write_result


@dataclass(frozen=True)
class TagConflict:
    repository: str
    tag: str
    now: str  # the digest the tag names now
    saved: str  # the digest it named before the run

    def describe(self) -> str:
        return f"{self.repository}:{self.tag} now names {self.now}, not {self.saved}"


@dataclass
class UndoPlan:
    run: Run
    source: str
    restore: list[SavedArtifact] = field(default_factory=list)  # in restore order (bottom-up)
    present: list[SavedArtifact] = field(default_factory=list)  # saved, and the source still has them
    conflicts: list[TagConflict] = field(default_factory=list)
    missing: list[MissingContent] = field(default_factory=list)
    retag: bool = False
    undoable: bool = True  # False: this source has no way back (no saved content)

    @property
    def allowed(self) -> bool:
        return self.undoable and not self.missing and (self.retag or not self.conflicts) and bool(self.restore)

    @property
    def refusal(self) -> str | None:
        """Why the plan cannot go ahead, in one line; None when it can."""
        if not self.undoable:
            return f"run {self.run.id} cannot be undone: ocitree saved nothing it could restore on this source"
        if self.missing:
            names = ", ".join(m.describe() for m in self.missing[:5])
            more = f" and {len(self.missing) - 5} more" if len(self.missing) > 5 else ""
            return (f"run {self.run.id} can no longer be undone: the source no longer has {names}{more} "
                    "(garbage collection ran, or a later deletion removed it: undo that one first); nothing was written")
        if self.conflicts and not self.retag:
            first = self.conflicts[0]
            more = f" (+{len(self.conflicts) - 1} more)" if len(self.conflicts) > 1 else ""
            return (f"refused: {first.describe()}{more}; pass --retag to move "
                    f"{'it' if len(self.conflicts) == 1 else 'them'} back; nothing was written")
        if not self.restore:
            return f"nothing to undo: everything run {self.run.id} deleted is present"
        return None

    def retagged(self) -> set[tuple[str, str]]:
        return {(c.repository, c.tag) for c in self.conflicts} if self.retag else set()

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run.to_json(),
            "source": self.source,
            "allowed": self.allowed,
            "refusal": self.refusal,
            "restore": [_artifact_json(s) for s in self.restore],
            "present": [_artifact_json(s) for s in self.present],
            "conflicts": [c.__dict__ for c in self.conflicts],
            "missing": [m.__dict__ for m in self.missing],
            "retag": self.retag,
        }


def _artifact_json(saved: SavedArtifact) -> dict[str, Any]:
    return {"repository": saved.repository, "digest": saved.digest, "media_type": saved.media_type,
            "tags": saved.tags, "rewritten": saved.rewritten}


def choose_run(book: RunBook, source: str, run_id: str | None) -> Run:
    """RUN as given (an id or a unique prefix), or the newest deletion of `source` not yet undone."""
    if run_id:
        matches = book.matching(source, run_id)
        if len(matches) > 1:
            raise BadInputError(f"{run_id!r} starts {len(matches)} run ids of {source}; give more of the id "
                                f"(see 'ocitree history {source}')")
        if not matches:
            raise BadInputError(f"no run {run_id!r} of {source} in the history (see 'ocitree history {source}')")
        run = matches[0]
        if run.kind != "delete":
            raise BadInputError(f"run {run.id} is an undo; undo it by deleting again")
        return run
    for run in book.runs(source):
        if run.kind == "delete" and run.undone is None and run.has_saved and run.changed_anything:
            return run
    raise BadInputError(f"nothing to undo on {source}: no deletion in the history that is not undone yet "
                        f"(see 'ocitree history {source}')")


def read_touched(run: Run, store: Store) -> Registry:
    """The repositories `run` deleted from, as the source holds them now, and only those: what
    plan_undo checks against, without reading a whole registry for a few artifacts (the TUI).
    A source that cannot read them on their own (a layout gone since) is read whole."""
    names = {item.repository for item in run.saved()}
    try:
        with store.session(names) as session:
            return session.current()
    except StoreError:
        return store.load()


def plan_undo(run: Run, store: Store, current: Registry, retag: bool = False) -> UndoPlan:
    adapter = adapter_for(store)
    plan = UndoPlan(run=run, source=current.source, retag=retag, undoable=adapter is not None)
    if adapter is None:
        return plan
    saved = _latest_per_artifact(run.saved())
    for item in saved:
        repo = current.repositories.get(item.repository)
        if repo is not None and item.digest in repo.artifacts and not item.rewritten:
            plan.present.append(item)
        else:
            plan.restore.append(item)
    plan.restore = bottom_up(plan.restore)
    for item in plan.restore:
        repo = current.repositories.get(item.repository)
        if repo is None:
            continue
        for tag in item.tags:
            now = repo.tags.get(tag)
            if now is not None and now != item.digest and not item.rewritten:
                plan.conflicts.append(TagConflict(item.repository, tag, now, item.digest))
    plan.missing = adapter.missing(run, plan.restore, current)
    return plan


def _latest_per_artifact(saved: list[SavedArtifact]) -> list[SavedArtifact]:
    """A run saves each artifact once; a rewritten index later deleted keeps its first (whole) state."""
    seen: dict[tuple[str, str], SavedArtifact] = {}
    for item in saved:
        seen.setdefault((item.repository, item.digest), item)
    return list(seen.values())


def bottom_up(items: list[SavedArtifact]) -> list[SavedArtifact]:
    """Children before the indexes listing them, subjects before their accessories; otherwise
    the reverse of the deletion order (which was top-down)."""
    by_key = {(i.repository, i.digest): i for i in items}
    done: set[tuple[str, str]] = set()
    order: list[SavedArtifact] = []

    def visit(item: SavedArtifact, path: set[tuple[str, str]]) -> None:
        key = (item.repository, item.digest)
        if key in done or key in path:
            return
        path.add(key)
        for dep in [*item.children, *([item.subject] if item.subject else [])]:
            found = by_key.get((item.repository, dep))
            if found is not None:
                visit(found, path)
        path.discard(key)
        done.add(key)
        order.append(item)

    for item in reversed(items):
        visit(item, set())
    return order


def execute_undo(plan: UndoPlan, store: Store, audit_log: Path | None = None,
                 book: RunBook | None = None) -> Run:
    """Restore an allowed plan; the undo becomes a run of its own. Raises StoreError, BadInputError."""
    if not plan.allowed:
        raise BadInputError(plan.refusal or "refusing to execute a refused undo")
    adapter: UndoAdapter | None = adapter_for(store)
    assert adapter is not None
    book = book or RunBook()
    try:
        undo_run = book.start("undo", plan.source, os_user(), [s.label for s in plan.restore], undoes=plan.run.id)
    except OSError as exc:
        raise StoreError(f"cannot record the undo in {book.root} ({exc.strerror}); nothing was restored") from None
    error: str | None = None
    try:
        adapter.restore(plan.run, plan.restore, plan.retagged())
    except OcitreeError as exc:
        error = str(exc)
    restored = [] if error else [_artifact_json(s) for s in plan.restore]
    result = {"completed": error is None, "restored": restored, "retagged": sorted(map(list, plan.retagged())),
              "error": error}
    try:
        write_result(undo_run, result)
        if error is None:
            mark_undone(plan.run, undo_run)
    except OSError:
        pass  # the restore stands; the history shows the undo as interrupted
    if audit_log is not None:
        try:
            append_audit_line(audit_log, {"time": now_text(), "user": undo_run.user, "source": plan.source,
                                          "action": "undo", "run": plan.run.id, **result})
        except OSError:
            pass
    if error is not None:
        raise StoreError(error)
    return undo_run
