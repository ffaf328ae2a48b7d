"""Undo for a sample file: its deleted entries saved verbatim with their places, and put back there.

A sample file has no blobs, so nothing a garbage collector could remove: a run can always be restored.
"""

from __future__ import annotations

import copy
from typing import Any

from ..durable_files import exclusive_lock
from ..errors import StoreError
from ..model import Artifact, Registry
from ..undo.adapter import MissingContent, UndoAdapter
from ..undo.saved import Run, SavedArtifact
from .sample import SampleStore, parse_document, write_document


class SampleUndo(UndoAdapter):
    store: SampleStore

    def __init__(self, store: SampleStore):
        super().__init__(store)
        self._doc: dict[str, Any] | None = None  # the file as the run found it (read once, under its lock)

    def capture(self, run: Run, artifact: Artifact, rewritten: bool) -> SavedArtifact:
        if self._doc is None:
            self._doc = parse_document(self.store.path.read_bytes(), str(self.store.path))
        saved = self.saved_from(artifact, rewritten)
        for position, entry in enumerate(self._doc["repositories"].get(artifact.repository, [])):
            if isinstance(entry, dict) and entry.get("digest") == artifact.digest:
                saved.record, saved.position = copy.deepcopy(entry), position
                break
        else:
            raise StoreError(f"{artifact.repository}@{artifact.digest} is not in {self.store.path}")
        return saved

    def missing(self, run: Run, items: list[SavedArtifact], current: Registry) -> list[MissingContent]:
        return []

    def restore(self, run: Run, items: list[SavedArtifact], retag: set[tuple[str, str]]) -> None:
        path = self.store.path
        lock_path = path.with_name(path.name + ".lock")
        try:
            with exclusive_lock(lock_path):
                self._restore_locked(items, retag)
        except OSError as exc:
            raise StoreError(f"{lock_path}: cannot lock ({exc.strerror}); nothing was restored") from None

    def _restore_locked(self, items: list[SavedArtifact], retag: set[tuple[str, str]]) -> None:
        path = self.store.path
        try:
            doc = parse_document(path.read_bytes(), str(path))
        except OSError as exc:
            raise StoreError(f"{path}: cannot read ({exc.strerror}); nothing was restored") from None
        repositories = doc.setdefault("repositories", {})
        _check_tags_still_free(repositories, items, retag, str(path))
        for repository, tag in retag:
            for entry in repositories.get(repository, []):
                if isinstance(entry, dict) and tag in (entry.get("tags") or []):
                    entry["tags"] = [t for t in entry["tags"] if t != tag]
        # Back at their old places: lowest first, so each lands where it stood.
        for saved in sorted(items, key=lambda s: s.position if s.position is not None else 1 << 62):
            if saved.record is None:
                continue
            entries = repositories.setdefault(saved.repository, [])
            now = [i for i, e in enumerate(entries) if isinstance(e, dict) and e.get("digest") == saved.digest]
            if now:  # a rewritten referrers index: its entries come back
                entries[now[0]] = saved.record
            else:
                entries.insert(min(saved.position or 0, len(entries)), saved.record)
        write_document(path, doc, "the file is unchanged; nothing was restored")

def _check_tags_still_free(repositories: dict[str, Any], items: list[SavedArtifact], retag: set[tuple[str, str]],
                           where: str) -> None:
    """A tag given to another entry since the plan was checked would end up on two: refuse, as stale."""
    for item in items:
        for tag in item.tags:
            if (item.repository, tag) in retag or item.rewritten:
                continue
            for entry in repositories.get(item.repository, []):
                if isinstance(entry, dict) and entry.get("digest") != item.digest and tag in (entry.get("tags") or []):
                    raise StoreError(f"{where}: {item.repository}:{tag} was given to another artifact since the undo "
                                     "was planned; nothing was restored. Run the undo again to see the new plan")
