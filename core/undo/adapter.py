"""The per-source half of undo: what to save before a delete, what is missing now, how to put it back.

Each store kind has its adapter in a module beside it (stores/sample_undo.py, stores/layout_undo.py,
stores/registry/undo.py, stores/registry_storage/undo.py); `adapter_for` picks it. A source without
one (registry storage opened read-only) still has its runs in the history, marked as not undoable.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from ..model import Artifact, Registry
from ..stores.base import Store
from .saved import Run, SavedArtifact

if TYPE_CHECKING:
    from ..stores.layout import LayoutStore
    from ..stores.registry.store import RegistryStore
    from ..stores.registry_storage.store import RegistryStorageStore
    from ..stores.sample import SampleStore


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
            created=artifact.created,
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


def _store_class(module: str, name: str) -> type[Store] | None:
    """A store class, if its module is loaded at all: a store of a kind never imported cannot be
    this one, and importing every kind (httpx for a sample file) would only cost time."""
    loaded = sys.modules.get(f"{Store.__module__.rpartition('.')[0]}.{module}")
    found = getattr(loaded, name, None) if loaded is not None else None
    return found if isinstance(found, type) and issubclass(found, Store) else None


def _is(store: Store, module: str, name: str) -> bool:
    cls = _store_class(module, name)
    return cls is not None and isinstance(store, cls)


def adapter_for(store: Store) -> UndoAdapter | None:
    if _is(store, "sample", "SampleStore"):
        from ..stores.sample_undo import SampleUndo

        return SampleUndo(cast("SampleStore", store))
    if _is(store, "layout", "LayoutStore"):
        from ..stores.layout_undo import LayoutUndo

        return LayoutUndo(cast("LayoutStore", store))
    if _is(store, "registry.store", "RegistryStore"):
        from ..stores.registry.undo import RegistryUndo

        return RegistryUndo(store, cast("RegistryStore", store))
    if _is(store, "registry_storage.store", "RegistryStorageStore"):
        storage = cast("RegistryStorageStore", store)
        if storage.api is not None:
            from ..stores.registry.undo import RegistryUndo

            return RegistryUndo(store, storage.api)  # deleted through the registry's API, restored the same way
        if storage.offline:
            from ..stores.registry_storage.undo import OfflineStorageUndo

            return OfflineStorageUndo(storage)
    return None
