"""The per-source half of undo: what to save before a delete, what is missing now, how to put it back.

Each store kind has its adapter in a module beside it (stores/sample_undo.py, stores/layout_undo.py,
stores/registry/undo.py, stores/registry_storage/undo.py); `adapter_for` picks it. A source without
one (registry storage opened read-only) still has its runs in the history, marked as not undoable.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from ..model import Artifact, Registry
from ..stores.base import Store
from .saved import Run, SavedArtifact


@dataclass(frozen=True)
class MissingContent:
    """Something a restore needs that the source no longer has (its garbage collector ran)."""

    repository: str
    digest: str
    needed_by: str  # the saved artifact's label

    def describe(self) -> str:
        return f"{self.repository}@{self.digest} (needed by {self.needed_by})"


class UndoAdapter(ABC):
    def __init__(self, store: Store):
        self.store = store

    def saved_from(self, artifact: Artifact, rewritten: bool) -> SavedArtifact:
        """The fields every source saves alike."""
        return SavedArtifact(
            repository=artifact.repository,
            digest=artifact.digest,
            media_type=artifact.media_type,
            tags=list(artifact.tags),
            children=[c.digest for c in artifact.children],
            subject=artifact.subject,
            blobs=[b.digest for b in artifact.blobs],
            rewritten=rewritten,
        )

    @abstractmethod
    def capture(self, run: Run, artifact: Artifact, rewritten: bool) -> SavedArtifact | None:
        """Save `artifact` (exact bytes, and the source's own record of it) before it is deleted;
        None when the source no longer has it (its delete then finds it gone, too).
        Raises OSError or StoreError."""

    def after_run(self, run: Run) -> None:
        """Once the run has ended: let go of what was saved but not removed after all."""

    @abstractmethod
    def missing(self, run: Run, items: list[SavedArtifact], current: Registry) -> list[MissingContent]:
        """What restoring `items` needs that the source no longer has (nothing written)."""

    @abstractmethod
    def restore(self, run: Run, items: list[SavedArtifact], retag: set[tuple[str, str]]) -> None:
        """Put `items` back, in the order given (bottom-up), their tags last; `retag` holds the
        (repository, tag) pairs to take from the artifact they now name. Raises StoreError."""


def adapter_for(store: Store) -> UndoAdapter | None:
    from ..stores.layout import LayoutStore
    from ..stores.registry.store import RegistryStore
    from ..stores.registry_storage.store import RegistryStorageStore
    from ..stores.sample import SampleStore

    if isinstance(store, SampleStore):
        from ..stores.sample_undo import SampleUndo

        return SampleUndo(store)
    if isinstance(store, LayoutStore):
        from ..stores.layout_undo import LayoutUndo

        return LayoutUndo(store)
    if isinstance(store, RegistryStore):
        from ..stores.registry.undo import RegistryUndo

        return RegistryUndo(store, store)
    if isinstance(store, RegistryStorageStore) and store.api is not None:
        from ..stores.registry.undo import RegistryUndo

        return RegistryUndo(store, store.api)  # deleted through the registry's API, restored the same way
    if isinstance(store, RegistryStorageStore) and store.offline:
        from ..stores.registry_storage.undo import OfflineStorageUndo

        return OfflineStorageUndo(store)
    return None
