"""RegistryStorageStore: distribution's filesystem storage as a source, and its two ways of deleting.

    --api URL   the registry serving this storage is running: each DELETE goes through its API
                (in the plan's top-down order, exactly as for a live registry), and the storage is
                read again after each one to confirm its revision link is gone.
    --offline   the registry is stopped (or read-only), as garbage-collect itself requires: a delete
                removes the repository's tag directories pointing at the manifest, then its revision
                link, which is what the registry's own DELETE does, and nothing else. Blob files stay
                for garbage-collect.
    neither     read-only, and the header says why.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from ...errors import BadInputError, StoreError
from ...model import Registry, Repository
from ...plan import GarbageCollectFigures
from ..base import Deletion, DeletionSession, LoadProgress, ProgressCallback, Store
from ..options import SourceOptions, StoreSource
from .collector import GarbageCollector
from .paths import find_storage_root, revision_link_path, tags_path
from .reader import StorageContents, read_link, read_storage

NO_MODE_REASON = "storage: needs --api or --offline"  # short: the TUI header shows it
DELETE_HOW = "give --api URL while the registry runs, or --offline once it is stopped"


class StorageRegistry(Registry):
    """A Registry that also knows every blob file and who marks it, so plans say exactly what
    garbage-collect frees (the planner asks `garbage_collect_after`)."""

    __slots__ = ("collector",)

    def __init__(self, source: str, repositories: Iterable[Repository], collector: GarbageCollector):
        super().__init__(source, repositories)
        self.collector = collector

    def garbage_collect_after(self, deleted: Iterable[tuple[str, str]]) -> GarbageCollectFigures:
        return self.collector.after(deleted)

    def garbage_collect_now(self) -> GarbageCollectFigures:
        return self.collector.after(())

    def drop_artifacts(self, removed: Iterable[tuple[str, str]]) -> set[str]:
        removed = list(removed)
        self.collector.forget(removed)
        return super().drop_artifacts(removed)


def build_repositories(contents: StorageContents) -> list[Repository]:
    repositories = []
    manifests = contents.manifests
    for name, links in contents.repositories.items():
        tags_of: dict[str, list[str]] = {}
        for tag, digest in links.tags.items():
            tags_of.setdefault(digest, []).append(tag)
        artifacts = [replace(manifests[d], repository=name, tags=sorted(tags_of.get(d, ())))
                     for d in links.revisions if d in manifests]
        repositories.append(Repository(name, artifacts))
    return repositories


class RegistryStorageStore(Store):
    blob_reclaim = "gc"

    def __init__(self, source: StoreSource, options: SourceOptions | None = None) -> None:
        options = options or SourceOptions()
        v2 = find_storage_root(Path(source))
        if v2 is None:
            raise BadInputError(f"{source}: not a registry's storage (no docker/registry/v2 in it)")
        if options.api and options.offline:
            raise BadInputError("give --api URL (registry running) or --offline (registry stopped), not both")
        self.source = str(source)
        self.v2 = v2
        self.offline = options.offline
        self.api = None
        self.read_only_reason: str | None = None
        if options.read_only:
            self.read_only_reason = "started with --read-only"
        elif not options.api and not options.offline:
            self.read_only_reason = NO_MODE_REASON
        self.read_only = self.read_only_reason is not None
        if options.api and not options.read_only:
            from ..registry.store import RegistryStore

            self.api = RegistryStore(options.api, options)  # a bad URL is a one-line error now, not at delete

    def load(self, progress: ProgressCallback | None = None) -> Registry:
        if progress:
            progress(LoadProgress(0, None, f"reading {self.v2}"))
        contents = read_storage(self.v2)
        collector = GarbageCollector(contents.repositories, contents.manifests, contents.blob_sizes)
        registry = StorageRegistry(self.source, build_repositories(contents), collector)
        if progress:
            n = len(registry.repositories)
            progress(LoadProgress(n, n, f"{registry.artifact_count} manifests"))
        return registry

    def read(self, repositories: set[str]) -> Registry:
        """Those repositories afresh (no blob sizes: for re-planning and confirming)."""
        return Registry(self.source, build_repositories(read_storage(self.v2, only=set(repositories))))

    def session(self, repositories: set[str]) -> DeletionSession:
        if self.read_only:
            raise StoreError(f"{self.source}: read-only ({self.read_only_reason}): {DELETE_HOW}; nothing was deleted")
        if self.api is not None:
            from .api_session import ApiStorageSession

            return ApiStorageSession(self, self.api, repositories)
        return OfflineSession(self, repositories)

    def close(self) -> None:
        if self.api is not None:
            self.api.close()


def _counted(deleted: int) -> str:
    if deleted == 0:
        return "nothing was deleted"
    return f"{deleted} artifact{'s' if deleted != 1 else ''} had been deleted before this"


class OfflineSession(DeletionSession):
    """Deleting on the storage itself, with the registry stopped. One ocitree at a time: an
    exclusive flock on the v2 directory (which writes nothing into the storage)."""

    def __init__(self, store: RegistryStorageStore, repositories: set[str]):
        self.store = store
        self.repositories = set(repositories)
        self._fd: int | None = None

    def __enter__(self) -> OfflineSession:
        try:
            self._fd = os.open(self.store.v2, os.O_RDONLY | os.O_DIRECTORY)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self.close()
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise StoreError(f"{self.store.v2}: another ocitree is deleting in this storage; "
                                 "wait for it and run again; nothing was deleted") from None
            raise StoreError(f"{self.store.v2}: cannot lock ({exc.strerror}); nothing was deleted") from None
        return self

    def read_fresh(self) -> Registry:
        return self.store.read(self.repositories)

    def deletion_on(self, fresh: Registry) -> Deletion:
        return OfflineDeletion(self.store)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


class OfflineDeletion(Deletion):
    """Each delete is durable once its revision link is unlinked (and the directory synced)."""

    def __init__(self, store: RegistryStorageStore):
        super().__init__()
        self.store = store

    def delete(self, repository: str, digest: str) -> None:
        v2 = self.store.v2
        link = revision_link_path(v2, repository, digest)
        if read_link(str(link)) != digest:
            raise StoreError(f"{repository}@{digest} is no longer linked in {self.store.source}; {_counted(len(self.durable.deleted))}")
        try:
            # Tags first: cut off between the two steps, the manifest stays visible as an untagged
            # leftover that the same delete finishes, never a tag pointing at nothing.
            tags = tags_path(v2, repository)
            for entry in sorted(os.listdir(tags)) if tags.is_dir() else ():
                if read_link(str(tags / entry / "current" / "link")) == digest:
                    shutil.rmtree(tags / entry)
            os.unlink(link)
            _fsync_directory(link.parent)
        except PermissionError:
            raise StoreError(f"{link.parent}: no permission to change the storage: run as the user the registry runs as "
                             f"(docker-registry on Debian); {_counted(len(self.durable.deleted))}") from None
        except OSError as exc:
            raise StoreError(f"{link}: cannot remove ({exc.strerror}); {_counted(len(self.durable.deleted))}") from None
        self.durable.deleted.add((repository, digest))


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
