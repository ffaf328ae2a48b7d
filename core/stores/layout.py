"""The OCI image layout store: one layout, or a tree of layouts (zot's disk format), one repository each.

Deleting follows the sample store's discipline, per layout: an exclusive lock on the
layout's `index.json.lock` file, a fresh read under that lock (so a plan made on older
state is refused as stale), then at commit the blobs to remove written down in the layout
(write-ahead, layout_writer.PENDING_FILE), a new index.json written atomically (temporary file,
fsync, rename), and only then the blobs removed. Each layout is its own blob store: a blob is
removed only when nothing remaining in that same layout uses it. A commit also removes what a
killed run had written down and left.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MalformedDataError, StoreError
from ..durable_files import discard, install_file, stage_file
from ..gc_pause import gc_paused
from ..json_text import NestedTooDeeply
from ..model import Registry
from .base import DeletionSession, LoadProgress, ProgressCallback, Store
from .layout_reader import (INDEX_FILE, LayoutContents, blob_path, find_layouts, is_layout, read_index_bytes,
                            read_layout, unreferenced_blobs)
from .layout_writer import (blobs_to_remove, index_without, read_pending, remove_blobs, serialize_index,
                            unwritable_blob_directory, write_pending)

if TYPE_CHECKING:
    from ..sources import SourceOptions

LOCK_FILE = INDEX_FILE + ".lock"
# A reader does not lock (it may be on read-only media); if index.json changes while it
# reads, it reads again rather than report a blob a concurrent delete just removed.
_READ_ATTEMPTS = 3


def open_layout_store(path: Path, options: SourceOptions) -> LayoutStore:
    return LayoutStore(path, read_only=options.read_only, keep_blobs=options.keep_blobs)


def read_layout_consistently(name: str, layout: Path, on_manifests=None) -> LayoutContents:
    """read_layout, again if index.json changed meanwhile: a deletion in another process removes
    blobs just after rewriting index.json, so a reader caught in between saw a mix."""
    for attempt in range(_READ_ATTEMPTS):
        last = attempt + 1 == _READ_ATTEMPTS
        index_raw = read_index_bytes(layout)
        try:
            contents = read_layout(name, layout, on_manifests, index_raw)
        except MalformedDataError:
            if last or _still(layout, index_raw):
                raise
            continue
        if last or _still(layout, index_raw):
            return contents
    raise AssertionError("unreachable")


def _still(layout: Path, index_raw: bytes) -> bool:
    try:
        return read_index_bytes(layout) == index_raw
    except (MalformedDataError, StoreError):
        return False


class LayoutStore(Store):
    def __init__(self, path: str | os.PathLike, read_only: bool = False, keep_blobs: bool = False):
        self.path = Path(path)
        self.source = str(path)
        self.read_only = read_only
        self.keep_blobs = keep_blobs
        self.blob_reclaim = "kept" if keep_blobs else "immediate"
        self.layouts: dict[str, Path] = find_layouts(self.path)  # early, so a bad SOURCE fails at open

    def load(self, progress: ProgressCallback | None = None) -> Registry:
        self.layouts = find_layouts(self.path)  # a reload sees layouts added or removed since
        total = len(self.layouts)
        if progress:
            progress(LoadProgress(0, total, f"found {total} layout{'s' if total != 1 else ''}"))
        repositories = []
        with gc_paused():
            self._read_all(repositories, total, progress)
        by_name = {r.name: r for r in repositories}
        for name, blobs in unreferenced_blobs(self.layouts, by_name).items():
            by_name[name].leftover_blobs = blobs
        return Registry(self.source, repositories)

    def _read_all(self, repositories: list, total: int, progress: ProgressCallback | None) -> None:
        for done, (name, layout) in enumerate(self.layouts.items()):
            on_manifests = None
            if progress:
                def on_manifests(n: int, name=name, done=done) -> None:
                    progress(LoadProgress(done, total, f"{name}: {n} manifests read"))
            repositories.append(read_layout_consistently(name, layout, on_manifests).repository)
            if progress:
                progress(LoadProgress(done + 1, total, f"{name}: {len(repositories[-1].artifacts)} manifests"))

    def session(self, repositories: set[str]) -> DeletionSession:
        if self.read_only:
            raise StoreError(f"{self.path}: opened read-only; nothing was deleted")
        unknown = sorted(r for r in repositories if r not in self.layouts)
        if unknown:
            raise StoreError(f"{self.path}: no layout for repository {unknown[0]!r}; nothing was deleted")
        return _LayoutSession(self, {name: self.layouts[name] for name in sorted(repositories)})


class _LayoutSession(DeletionSession):
    applies_at_commit = True  # index.json files are rewritten at commit(), blobs removed after
    def __init__(self, store: LayoutStore, layouts: dict[str, Path]):
        self.store = store
        self.layouts = layouts  # sorted by name: locks are always taken in the same order
        self._lock_fds: list[int] = []
        self._contents: dict[str, LayoutContents] = {}
        self._deleted: dict[str, set[str]] = {}
        #: blobs left behind after a successful commit (unused, safe to remove by hand)
        self.blob_failures: list[str] = []

    def __enter__(self) -> _LayoutSession:
        for layout in self.layouts.values():
            lock_path = layout / LOCK_FILE
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                self.close()
                raise StoreError(f"{lock_path}: cannot create the lock file ({exc.strerror}); nothing was deleted") from None
            self._lock_fds.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                self.close()
                raise StoreError(f"{lock_path}: cannot lock ({exc.strerror}); nothing was deleted") from None
        return self

    def current(self) -> Registry:
        self._contents = {}
        self._deleted = {}
        for name, layout in self.layouts.items():
            if is_layout(layout):  # a layout removed since loading is simply absent: the plan is stale
                self._contents[name] = read_layout(name, layout)
        return Registry(self.store.source, [c.repository for c in self._contents.values()])

    def delete(self, repository: str, digest: str) -> None:
        contents = self._contents.get(repository)
        assert contents is not None or repository in self.layouts, "current() comes first"
        deleted = self._deleted.setdefault(repository, set())
        if contents is None or digest not in contents.repository.artifacts or digest in deleted:
            raise StoreError(f"{repository}@{digest} is no longer in {self.layouts[repository]}")
        deleted.add(digest)

    def commit(self) -> None:
        changes = []  # (layout, index path, new bytes, blobs to remove)
        pending = {name: read_pending(layout) for name, layout in self.layouts.items()}
        for name, deleted in self._deleted.items():
            if not deleted:
                continue
            layout = self.layouts[name]
            contents = self._contents[name]
            index_path = layout / INDEX_FILE
            try:
                now = index_path.read_bytes()
            except OSError as exc:
                raise StoreError(f"{index_path}: cannot read ({exc.strerror}); nothing was deleted") from None
            if now != contents.index_raw:
                raise StoreError(
                    f"{index_path}: changed by another program during the deletion (ocitree's lock does not bind it); "
                    "nothing was deleted. Load again and retry"
                )
            blobs = blobs_to_remove(contents.repository, deleted, self.store.keep_blobs, pending[name])
            blocked = unwritable_blob_directory(layout, blobs)
            if blocked:
                raise StoreError(f"{blocked}: no permission to remove blobs from it; nothing was deleted")
            try:
                data = serialize_index(index_without(contents.index_doc, deleted), contents.index_raw)
            except NestedTooDeeply:
                raise StoreError(f"{index_path}: nested too deeply to be written back; nothing was deleted") from None
            changes.append((name, layout, index_path, data, blobs))
        # Stage every index.json first, so a failure to write any of them changes nothing.
        staged = []
        try:
            for name, _, index_path, data, _ in changes:
                staged.append((stage_file(index_path, data), index_path, name))
        except OSError as exc:
            for tmp, _, _ in staged:
                discard(tmp)
            raise StoreError(f"{index_path}: cannot write a new copy beside it ({exc.strerror}); nothing was deleted") from None
        installed: list[str] = []
        blobs_of = {name: blobs for name, _, _, _, blobs in changes}
        for tmp, index_path, name in staged:
            try:
                write_pending(self.layouts[name], blobs_of[name])  # write-ahead: a kill from here on leaves them listed
                install_file(tmp, index_path)
            except OSError as exc:
                for rest, _, _ in staged:
                    discard(rest)
                try:
                    write_pending(self.layouts[name], pending[name])  # this layout is unchanged
                except OSError:
                    pass  # what it lists is still in use: the next commit drops it
                self.committed_before_failure = frozenset(installed)
                done = (f"deleted from {', '.join(installed)} only; the next delete there removes their unused blobs"
                        if installed else "nothing was deleted")
                raise StoreError(f"{index_path}: cannot replace ({exc.strerror}); {done}") from None
            installed.append(name)
        # Layouts without deletions this time may still hold blobs a killed run left.
        for name in self.layouts:
            if name not in blobs_of and pending[name] and name in self._contents:
                blobs_of[name] = blobs_to_remove(self._contents[name].repository, set(), True, pending[name])
        for name, blobs in blobs_of.items():
            layout = self.layouts[name]
            self.blob_failures.extend(remove_blobs(layout, blobs))
            try:
                write_pending(layout, [d for d in blobs if blob_path(layout, d).exists()])
            except OSError:
                pass  # the blobs are gone; a stale record only costs the next commit a check
        self._deleted = {}

    def close(self) -> None:
        for fd in self._lock_fds:
            os.close(fd)  # closing drops the flock
        self._lock_fds = []
