"""The store interface every source implements: sample file, OCI layout, live registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import StoreError
from ..model import Registry


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """Reported while loading: `done` of `total` units (total may be None while unknown)."""

    done: int
    total: int | None
    message: str = ""


ProgressCallback = Callable[[LoadProgress], None]


class DeletionSession(ABC):
    """Exclusive access to some repositories for one plan's execution.

    Used as a context manager: entering takes whatever lock the store has,
    `current()` reads the repositories afresh (so the executor can refuse a stale plan),
    `delete()` removes one manifest, `commit()` makes the deletions durable.
    Leaving without commit() abandons what was not yet durable."""

    #: True where deletions take effect only at commit() (a file written once), so a run that
    #: stops before it has deleted nothing; False where each delete() acts at once (a registry).
    applies_at_commit = False
    #: where commit() failed part-way: the repositories whose deletions it had already made durable
    committed_before_failure: frozenset[str] = frozenset()

    def __enter__(self) -> DeletionSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def current(self) -> Registry: ...

    @abstractmethod
    def delete(self, repository: str, digest: str) -> None:
        """Delete one manifest (and with it every tag pointing at it). Raises StoreError."""

    def rewrite_referrers(self, repository: str, digest: str, remove: set[str]) -> None:
        """Write the OCI 1.1 fallback referrers index `digest` anew without the entries `remove`,
        under the same tag, and drop the old one. Raises StoreError."""
        raise StoreError(f"{repository}@{digest}: this source cannot rewrite a referrers index; nothing was deleted")

    def commit(self) -> None:
        """Make the deletions durable (a file store writes here; a registry already has)."""

    def close(self) -> None:
        """Release locks."""


class Store(ABC):
    """A source of registry state that can also delete."""

    #: what the user typed, for headers and messages (never with credentials)
    source: str = ""
    #: a store that cannot delete at all (deletion disabled is found out on the first DELETE)
    read_only: bool = False
    #: what happens to unused blobs after a delete: "gc" (a registry's garbage collector
    #: reclaims them later), "immediate" (the store removes them itself), "kept" (left in place)
    blob_reclaim: str = "gc"
    #: whether untagged manifests that no index lists are visible at all (the Distribution API
    #: lists manifests only through tags and indexes)
    sees_untagged: bool = True

    @abstractmethod
    def load(self, progress: ProgressCallback | None = None) -> Registry: ...

    @abstractmethod
    def session(self, repositories: set[str]) -> DeletionSession: ...

    def refresh_blob_scope(self, registry: Registry) -> None:
        """After a deletion applied in place (Registry.drop_artifacts): bring what the registry knows
        of where blobs live up to date, where deleting changed it (layouts: links and hard links)."""

    def close(self) -> None:
        """Release network clients and the like."""
