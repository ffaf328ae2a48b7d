"""The executor's hook: before each step deletes (or rewrites) an artifact, save it for undo.

Saving happens before the step, durably, so a run cut off anywhere (ocitree killed included)
has saved everything it deleted. A step whose artifact cannot be saved is not taken: the run
stops there, as at a failed delete.
"""

from __future__ import annotations

from typing import Any

from ..audit import os_user
from ..config import load_config
from ..errors import OcitreeError, StoreError
from ..model import Registry
from ..plan import DeletionPlan, ExecutionResult
from ..stores.base import Store
from .adapter import UndoAdapter, adapter_for
from .saved import Run, RunBook, append_saved, write_result


class UndoRecorder:
    def __init__(self, plan: DeletionPlan, store: Store, fresh: Registry, book: RunBook | None = None):
        """Start the run's record. Raises StoreError (before anything is deleted)."""
        self.fresh = fresh
        self.adapter: UndoAdapter | None = adapter_for(store)
        self.steps = 0  # steps saved and so taken: what a failure message counts as deleted before it
        book = book or RunBook()
        try:
            keep_days = load_config().undo_keep_days
        except OcitreeError:
            keep_days = None  # a broken config file is reported by the command itself; nothing expires now
        try:
            if keep_days is not None:
                book.expire(keep_days)
            self.run: Run = book.start("delete", plan.source, os_user(), plan.references)
        except OSError as exc:
            raise StoreError(f"cannot save the run for undo in {book.root} ({exc.strerror}); nothing was deleted. "
                             "Make that directory writable (or set XDG_STATE_HOME)") from None

    def save(self, repository: str, digest: str, rewritten: bool = False) -> None:
        """Save one artifact before its step. Raises StoreError: the step is not taken."""
        if self.adapter is None:
            return  # this source cannot be undone; the run is still in the history
        repo = self.fresh.repositories.get(repository)
        artifact = repo.artifacts.get(digest) if repo is not None else None
        if artifact is None:
            return  # the executor's own check reports it
        try:
            saved = self.adapter.capture(self.run, artifact, rewritten)
            if saved is not None:  # None: already gone from the source (another client deleted it)
                append_saved(self.run, saved)
        except (OSError, StoreError) as exc:
            reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
            raise StoreError(f"{repository}@{digest}: cannot save it for undo ({reason}); {self._so_far()}") from None
        if not rewritten:
            self.steps += 1

    def _so_far(self) -> str:
        if self.steps == 0:
            return "nothing was deleted"
        return f"{self.steps} artifact{'s' if self.steps != 1 else ''} had been deleted before this"

    def finish(self, result: ExecutionResult) -> None:
        doc: dict[str, Any] = {
            "completed": result.completed,
            "undoable": self.adapter is not None,
            "deleted": [d.model_dump() for d in result.deleted],
            "rewritten": [r.model_dump() for r in result.rewritten],
            "failed": [f.model_dump() for f in result.failed],
        }
        try:
            if self.adapter is not None:
                self.adapter.after_run(self.run)
            write_result(self.run, doc)
        except OSError:
            pass  # read back as interrupted: undo then restores whatever saved artifact is missing
