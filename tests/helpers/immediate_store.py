"""A test store that deletes one manifest at a time, as a registry does, over a sample file.

The file is only read: deletions are remembered in memory and applied to every later load,
so a run cut off part way leaves a state like a registry's. `fail_on` makes the deletion of
one digest fail as a dropped connection would."""

from __future__ import annotations

from pathlib import Path

from ocitree.core.errors import StoreError
from ocitree.core.model import Registry
from ocitree.core.stores.base import Deletion, DeletionSession, Store
from ocitree.core.stores.sample import SampleStore


class ImmediateStore(Store):
    def __init__(self, path: Path, source: str = "immediate", fail_on: str | None = None) -> None:
        self.inner = SampleStore(path)
        self.source = source
        self.fail_on = fail_on
        self.gone: set[tuple[str, str]] = set()

    def load(self, progress=None) -> Registry:
        registry = self.inner.load(progress)
        registry.source = self.source
        registry.drop_artifacts(self.gone)
        return registry

    def session(self, repositories: set[str]) -> DeletionSession:
        store = self

        class Immediate(Deletion):
            def delete(self, repository: str, digest: str) -> None:
                if digest == store.fail_on:
                    raise StoreError(f"{repository}@{digest[:19]}: connection reset by peer")
                store.gone.add((repository, digest))
                self.durable.deleted.add((repository, digest))  # at once, as a registry's DELETE

        class Session(DeletionSession):
            def read_fresh(self) -> Registry:
                return store.load()

            def deletion_on(self, fresh: Registry) -> Deletion:
                return Immediate()

        return Session()
