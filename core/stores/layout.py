"""The OCI image layout store: one layout, or a tree of layouts (zot's disk format), one repository each.

Deleting follows the sample store's discipline, per layout: an exclusive lock on the
layout's `index.json.lock` file, a fresh read under that lock (so a plan made on older
state is refused as stale), then at commit the blobs to remove written down in the layout
(write-ahead, layout_writer.PENDING_FILE), a new index.json written atomically (temporary file,
fsync, rename; a symlinked index.json is replaced at its target), and only then the blobs removed.
A blob is removed only when nothing remaining in its blob store uses it: the layout's own `blobs/`,
or the directory or files several layouts share through symlinks, all of which the session then
locks and reads too (layout_sharing.py). A blob directory a symlink leads to from outside the
SOURCE is never emptied: its other users cannot be seen. A commit also removes what a killed run
had written down and left.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from pathlib import Path

from ..blob_scope import BlobScope, Reclaim
from ..errors import MalformedDataError, OcitreeError, StoreError
from ..durable_files import discard, install_file, stage_file, write_atomically
from ..digests import digest_of
from ..gc_pause import gc_paused
from ..json_text import NestedTooDeeply
from ..model import Registry, Repository
from .base import Deletion, DeletionSession, LoadProgress, ProgressCallback, Store
from .layout_reader import (INDEX_FILE, LayoutContents, ManifestCountCallback, blob_path, find_layouts, is_layout, read_index_bytes,
                            read_layout, unreferenced_blobs)
from .layout_sharing import BlobListings, layout_blob_scope, sharing_layouts
from .layout_writer import (blob_candidates, digests_in_use, index_replacing, index_untagging, index_without,
                            read_pending, remove_blobs, serialize_index, write_pending)
from .options import SourceOptions, StoreSource

LOCK_FILE = INDEX_FILE + ".lock"
# A reader does not lock (it may be on read-only media); if index.json changes while it
# reads, it reads again rather than report a blob a concurrent delete just removed.
_READ_ATTEMPTS = 3


def read_layout_consistently(name: str, layout: Path, on_manifests: ManifestCountCallback | None = None) -> LayoutContents:
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
    def __init__(self, source: StoreSource, options: SourceOptions | None = None) -> None:
        options = options or SourceOptions()
        self.path = Path(source)
        self.source = str(self.path)
        self.read_only = options.read_only
        self.keep_blobs = options.keep_blobs
        self.blob_reclaim: Reclaim = "kept" if options.keep_blobs else "immediate"
        self.layouts: dict[str, Path] = find_layouts(self.path)  # early, so a bad SOURCE fails at open

    def load(self, progress: ProgressCallback | None = None) -> Registry:
        self.layouts = find_layouts(self.path)  # a reload sees layouts added or removed since
        return self.load_part(list(self.layouts), progress)

    def load_part(self, names: list[str], progress: ProgressCallback | None = None,
                  listings: BlobListings | None = None) -> Registry:
        """The layouts `names` (of those found at opening or at the last load) as a registry of their
        own: for a listing in parts (layout_split), whose blob directories no other layout reaches.
        Its blob scope counts these layouts only. `listings`: blob directories listed already (to cut
        the root into parts)."""
        layouts = {name: self.layouts[name] for name in names}
        listings = listings or BlobListings()  # listed once for the scope and the leftovers
        scope = layout_blob_scope(self.path, layouts, self.blob_reclaim, listings)
        total = len(layouts)
        if progress:
            progress(LoadProgress(0, total, f"found {total} layout{'s' if total != 1 else ''}"))
        repositories: list[Repository] = []
        with gc_paused():
            self._read_all(layouts, repositories, progress)
        by_name = {r.name: r for r in repositories}
        for name, blobs in unreferenced_blobs(layouts, by_name, listings, scope.files).items():
            by_name[name].leftover_blobs = blobs
        return Registry(self.source, repositories, blob_scope=scope)

    @staticmethod
    def _read_all(layouts: dict[str, Path], repositories: list[Repository], progress: ProgressCallback | None) -> None:
        total = len(layouts)
        for done, (name, layout) in enumerate(layouts.items()):
            on_manifests = None
            if progress:
                def on_manifests(n: int, name: str = name, done: int = done) -> None:
                    progress(LoadProgress(done, total, f"{name}: {n} manifests read"))
            repositories.append(read_layout_consistently(name, layout, on_manifests).repository)
            if progress:
                progress(LoadProgress(done + 1, total, f"{name}: {len(repositories[-1].artifacts)} manifests"))

    def refresh_blob_scope(self, registry: Registry) -> None:
        layouts = {name: path for name, path in self.layouts.items() if name in registry.repositories}
        registry.blob_scope = layout_blob_scope(self.path, layouts, self.blob_reclaim)
        registry.shared_digests = None

    def session(self, repositories: set[str]) -> DeletionSession:
        if self.read_only:
            raise StoreError(f"{self.path}: opened read-only; nothing was deleted")
        unknown = sorted(r for r in repositories if r not in self.layouts)
        if unknown:
            raise StoreError(f"{self.path}: no layout for repository {unknown[0]!r}; nothing was deleted")
        changed = {name: self.layouts[name] for name in repositories}
        # Layouts are found again: one added since loading may share a blob directory.
        try:
            present = find_layouts(self.path)
        except OcitreeError:
            present = {}
        everything = {**present, **changed}
        scope = layout_blob_scope(self.path, everything, self.blob_reclaim)
        readers = sharing_layouts(scope, set(changed))
        return _LayoutSession(self, {name: everything[name] for name in sorted(readers)}, set(changed), scope)

    def untag_refusal(self, repository: str) -> str | None:
        return super().untag_refusal(repository) if self.read_only else None


class _LayoutSession(DeletionSession):
    def __init__(self, store: LayoutStore, layouts: dict[str, Path], changed: set[str], scope: BlobScope):
        self.store = store
        # The layouts to change, and those sharing a blob directory with them (read for the blobs
        # they use). Sorted by name: locks are always taken in the same order.
        self.layouts = layouts
        self.changed = changed
        self.scope = scope
        self._lock_fds: list[int] = []
        self._contents: dict[str, LayoutContents] = {}

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

    def read_fresh(self) -> Registry:
        self._contents = {}
        for name, layout in self.layouts.items():
            if is_layout(layout):  # a layout removed since loading is simply absent: the plan is stale
                self._contents[name] = read_layout(name, layout)
        return Registry(self.store.source, [c.repository for c in self._contents.values()], blob_scope=self.scope)

    def deletion_on(self, fresh: Registry) -> Deletion:
        return _LayoutDeletion(self.layouts, self.changed, self.scope, self._contents, self.store.keep_blobs)

    def close(self) -> None:
        for fd in self._lock_fds:
            os.close(fd)  # closing drops the flock
        self._lock_fds = []


class _LayoutDeletion(Deletion):
    """index.json files are rewritten at commit(), each layout's steps durable once its own is
    installed; blobs are removed after."""

    def __init__(self, layouts: dict[str, Path], changed: set[str], scope: BlobScope,
                 contents: dict[str, LayoutContents], keep_blobs: bool):
        super().__init__()
        self.layouts = layouts
        self.changed = changed
        self.scope = scope
        self.keep_blobs = keep_blobs
        self._contents = contents
        self._deleted: dict[str, set[str]] = {}
        self._rewritten: dict[str, dict[str, bytes]] = {}  # layout -> old referrers index -> new bytes
        self._untagged: dict[str, set[str]] = {}  # layout -> tags removed, manifests kept
        #: blobs left behind after a successful commit (unused, safe to remove by hand)
        self.blob_failures: list[str] = []

    def delete(self, repository: str, digest: str) -> None:
        contents = self._contents.get(repository)
        assert repository in self.changed, "only the layouts the session was opened for change"
        deleted = self._deleted.setdefault(repository, set())
        if contents is None or digest not in contents.repository.artifacts or digest in deleted:
            raise StoreError(f"{repository}@{digest} is no longer in {self.layouts[repository]}")
        deleted.add(digest)

    def untag(self, repository: str, tag: str) -> None:
        """At commit, index.json loses the entry naming `tag` (see index_untagging)."""
        contents = self._contents.get(repository)
        assert repository in self.changed, "only the layouts the session was opened for change"
        untagged = self._untagged.setdefault(repository, set())
        digest = contents.repository.tags.get(tag) if contents is not None else None
        if digest is None or digest in self._deleted.get(repository, ()) or tag in untagged:
            raise StoreError(f"{repository}:{tag} is no longer in {self.layouts[repository]}")
        untagged.add(tag)

    def rewrite_referrers(self, repository: str, digest: str, remove: set[str]) -> None:
        """The new index is written at commit, as a blob, before index.json names it instead of the old one."""
        self.delete(repository, digest)  # the old one leaves index.json (and its blob goes if unused)
        path = blob_path(self.layouts[repository], digest)
        try:
            doc = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path}: cannot read the referrers index ({exc}); nothing was deleted") from None
        doc["manifests"] = [e for e in doc.get("manifests", []) if e.get("digest") not in remove]
        self._rewritten.setdefault(repository, {})[digest] = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()

    def commit(self) -> None:
        changes = []  # (name, index path as written: a symlink's target, new bytes)
        pending = {name: read_pending(layout) for name, layout in self.layouts.items()}
        for name in sorted(set(self._deleted) | set(self._untagged)):
            deleted = self._deleted.get(name, set())
            untagged = self._untagged.get(name, set())
            if not deleted and not untagged:
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
            # A symlinked index.json is rewritten where it points: replacing the link by a file
            # would leave the target (which something else may read) listing deleted manifests.
            target = Path(os.path.realpath(index_path)) if index_path.is_symlink() else index_path
            doc = contents.index_doc
            rewritten = self._rewritten.get(name, {})
            if rewritten:
                doc = index_replacing(doc, {old: (digest_of(new), len(new)) for old, new in rewritten.items()})
            doc = index_without(doc, deleted)
            if untagged:
                reached = {c.digest for d, a in contents.repository.artifacts.items() if d not in deleted for c in a.children}
                doc = index_untagging(doc, untagged, reached)
            try:
                data = serialize_index(doc, contents.index_raw)
            except NestedTooDeeply:
                raise StoreError(f"{index_path}: nested too deeply to be written back; nothing was deleted") from None
            changes.append((name, target, data))
        removals = self._blobs_to_remove(pending)  # layout -> [(digest, files to remove)]
        for directory in sorted({path.parent for entries in removals.values() for _, paths in entries
                                 for path in paths}, key=str):
            if directory.is_dir() and not os.access(directory, os.W_OK | os.X_OK):
                raise StoreError(f"{directory}: no permission to remove blobs from it; nothing was deleted")
        for name, rewritten in self._rewritten.items():  # before any index.json names them
            self._write_new_blobs(self.layouts[name], rewritten.values())
        # Stage every index.json first, so a failure to write any of them changes nothing.
        staged = []
        try:
            for name, index_path, data in changes:
                staged.append((stage_file(index_path, data), index_path, name))
        except OSError as exc:
            for tmp, _, _ in staged:
                discard(tmp)
            raise StoreError(f"{index_path}: cannot write a new copy beside it ({exc.strerror}); nothing was deleted") from None
        installed: list[str] = []
        blobs_of = {name: [d for d, _ in entries] for name, entries in removals.items()}
        for tmp, index_path, name in staged:
            try:
                write_pending(self.layouts[name], blobs_of.get(name, []))  # write-ahead: a kill from here on leaves them listed
                install_file(tmp, index_path)
            except OSError as exc:
                for rest, _, _ in staged:
                    discard(rest)
                try:
                    write_pending(self.layouts[name], pending[name])  # this layout is unchanged
                except OSError:
                    pass  # what it lists is still in use: the next commit drops it
                done = (f"deleted from {', '.join(installed)} only; the next delete there removes their unused blobs"
                        if installed else "nothing was deleted")
                raise StoreError(f"{index_path}: cannot replace ({exc.strerror}); {done}") from None
            installed.append(name)
            self._made_durable(name)
        for name, entries in removals.items():
            self.blob_failures.extend(remove_blobs(path for _, paths in entries for path in paths))
            layout = self.layouts[name]
            try:
                write_pending(layout, [d for d, paths in entries if any(p.exists() or p.is_symlink() for p in paths)])
            except OSError:
                pass  # the blobs are gone; a stale record only costs the next commit a check
        self._deleted = {}
        self._untagged = {}

    def _made_durable(self, name: str) -> None:
        rewritten = self._rewritten.get(name, {})
        self.durable.rewritten |= {(name, digest) for digest in rewritten}
        self.durable.deleted |= {(name, digest) for digest in self._deleted.get(name, ()) if digest not in rewritten}
        self.durable.untagged |= {(name, tag) for tag in self._untagged.get(name, ())}

    @staticmethod
    def _write_new_blobs(layout: Path, blobs: Iterable[bytes]) -> None:
        for data in blobs:
            path = blob_path(layout, digest_of(data))
            try:
                write_atomically(path, data, 0o644)
            except OSError as exc:
                raise StoreError(f"{path}: cannot write the rewritten referrers index ({exc.strerror}); nothing was deleted") from None

    def _blobs_to_remove(self, pending: dict[str, list[str]]) -> dict[str, list[tuple[str, list[Path]]]]:
        """Layout -> [(digest, files)]: blobs its deletion (or a killed run's record, `pending`) leaves
        that no remaining manifest of any layout reaching the same file uses, with the symlinks to
        them first (a crash in between leaves a blob file no layout names, never a dangling link).
        Nothing from a directory whose users ocitree cannot all see."""
        scope = self.scope
        candidates: dict[tuple[str, str], str] = {}  # (blob directory, digest) -> the layout it is removed for
        for name in self._contents:
            deleted = self._deleted.get(name, set())
            digests = set(pending.get(name, ()))
            if deleted:
                digests |= blob_candidates(self._contents[name].repository, deleted, self.keep_blobs)
            for digest in sorted(digests):
                directory = scope.domain(name, digest)
                if directory and directory not in scope.unaccounted:
                    candidates.setdefault((directory, digest), name)
        in_use: dict[str, set[str]] = {}

        def used_by(name: str) -> set[str]:
            if name not in in_use:
                in_use[name] = digests_in_use(self._contents[name].repository, self._deleted.get(name, set()))
            return in_use[name]

        removals: dict[str, list[tuple[str, list[Path]]]] = {}
        for (directory, digest), owner in candidates.items():
            users = [name for name in self._contents if scope.domain(name, digest) == directory]
            if not any(digest in used_by(name) for name in users):
                paths = [Path(link) for link in scope.links.get((directory, digest), ())]
                paths.append(Path(directory) / digest.partition(":")[2])
                removals.setdefault(owner, []).append((digest, paths))
        return removals
