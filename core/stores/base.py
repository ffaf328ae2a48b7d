"""The store interface every source implements: sample file, OCI layout, live registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import StoreError
from ..model import Registry


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """Reported while loading: `done` of `total` units (total may be None while unknown)."""

    done: int
    total: int | None
    message: str = ""


ProgressCallback = Callable[[LoadProgress], None]


@dataclass
class DurableSteps:
    """What a deletion has made durable in the store so far, as (repository, digest) pairs:
    manifests deleted, and referrers indexes rewritten. A registry adds each step as its DELETE
    succeeds; a file store adds a file's steps once commit() has written that file."""

    deleted: set[tuple[str, str]] = field(default_factory=set)
    rewritten: set[tuple[str, str]] = field(default_factory=set)
    #: (repository, tag) pairs removed by untag(), the manifests kept
    untagged: set[tuple[str, str]] = field(default_factory=set)


class Deletion(ABC):
    """Deleting from the state a DeletionSession read afresh (DeletionSession.begin).

    `delete()` and `rewrite_referrers()` take the plan's steps in order; `commit()` makes them
    durable where the store writes at the end. Whatever happens (a failed step, a failed commit,
    Ctrl-C), `durable` says what reached the store."""

    def __init__(self) -> None:
        self.durable = DurableSteps()

    @abstractmethod
    def delete(self, repository: str, digest: str) -> None:
        """Delete one manifest (and with it every tag pointing at it). Raises StoreError."""

    def rewrite_referrers(self, repository: str, digest: str, remove: set[str]) -> None:
        """Write the OCI 1.1 fallback referrers index `digest` anew without the entries `remove`,
        under the same tag, and drop the old one. Raises StoreError."""
        raise StoreError(f"{repository}@{digest}: this source cannot rewrite a referrers index; nothing was deleted")

    def untag(self, repository: str, tag: str) -> None:
        """Remove one tag and keep the manifest it names (durable as `durable.untagged`, a file store's
        at commit). Only where Store.untag_refusal() is None. Raises StoreError."""
        raise StoreError(f"{repository}:{tag}: this source cannot remove a tag alone; nothing was untagged")

    def commit(self) -> None:
        """Make the steps durable (a file store writes here; a registry already has). Raises StoreError."""


class DeletionSession(ABC):
    """Exclusive access to some repositories for one plan's execution.

    Used as a context manager: entering takes whatever lock the store has; `current()` reads the
    repositories afresh (so the executor can refuse a stale plan); `begin(fresh)` hands back the
    Deletion that works on exactly that state, so nothing can be deleted before it was read.
    Leaving abandons what was not yet durable and releases the lock."""

    _fresh: Registry | None = None

    def __enter__(self) -> DeletionSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def current(self) -> Registry:
        """The repositories as they are now, read under the lock."""
        self._fresh = self.read_fresh()
        return self._fresh

    def begin(self, fresh: Registry) -> Deletion:
        """Deleting from `fresh`, the state current() returned last (and the plan was checked against)."""
        if fresh is not self._fresh:
            raise ValueError("begin() takes the Registry that current() returned last")
        return self.deletion_on(fresh)

    @abstractmethod
    def read_fresh(self) -> Registry:
        """current()'s reading, which the store's Deletion goes on from."""

    @abstractmethod
    def deletion_on(self, fresh: Registry) -> Deletion: ...

    def close(self) -> None:
        """Release locks."""


class Store(ABC):
    """A source of registry state that can also delete.

    Every store opens as `XStore(source, options)` (StoreSource, SourceOptions | None): it finds
    what it needs from `source` itself, so core/sources.py only picks the kind."""

    #: what the user typed, for headers and messages (never with credentials)
    source: str = ""
    #: a store that cannot delete at all (deletion disabled is found out on the first DELETE)
    read_only: bool = False
    #: whether untag_refusal() finds out by sending a request that writes (a live registry's DELETE
    #: of a random tag): then it is asked only when the operator asks to untag, never on its own
    untag_check_writes: bool = False
    #: what happens to unused blobs after a delete: "gc" (a registry's garbage collector
    #: reclaims them later), "immediate" (the store removes them itself), "kept" (left in place)
    blob_reclaim: str = "gc"
    #: whether untagged manifests that no index lists are visible at all (the Distribution API
    #: lists manifests only through tags and indexes)
    sees_untagged: bool = True

    @abstractmethod
    def load(self, progress: ProgressCallback | None = None) -> Registry: ...

    def untag_refusal(self, repository: str) -> str | None:
        """None when this source can remove a tag from `repository` and keep the manifest; else one
        line saying why not and what to do instead. A live registry finds out by asking (once)."""
        if self.read_only:
            return f"{self.source}: opened read-only; nothing was untagged"
        return f"{self.source}: this kind of source cannot remove a tag alone; delete the manifest instead"

    @abstractmethod
    def session(self, repositories: set[str]) -> DeletionSession: ...

    def refresh_blob_scope(self, registry: Registry) -> None:
        """After a deletion applied in place (Registry.drop_artifacts): bring what the registry knows
        of where blobs live up to date, where deleting changed it (layouts: links and hard links)."""

    def close(self) -> None:
        """Release network clients and the like."""
