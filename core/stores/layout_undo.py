"""Undo for OCI image layouts (one, or a root of them): blobs kept aside, index.json entries put back.

Before a step deletes a manifest, its blob and its config and layer blobs are hard-linked (copied
across filesystems) into the run's `blobs/` directory, so the commit that unlinks them from the
layout frees nothing until the run expires or is purged; its index.json entries are saved with
their annotations and positions. Once the run has ended, a link whose content another link still
holds (the layout kept the blob, or another layout has it hard-linked) is dropped again: only what
the run removed stays aside, and no layout's blob file gains a link that would make a later plan
count it as hard-linked elsewhere. A restore takes a blob from the run's directory, a later run's
(a shared blob that a later delete removed), or another layout of the source that has it. A restore links the blobs back first, then writes index.json with
the entries where they stood, under the layout's lock: a reader never sees an entry whose blob
is missing.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from ..durable_files import exclusive_lock, fsync_directory, write_atomically
from ..errors import OcitreeError, StoreError
from ..json_text import NestedTooDeeply
from ..model import Artifact, Registry
from ..undo.adapter import MissingContent, UndoAdapter
from ..undo.saved import Run, SavedArtifact, kept_blob, saved_blob_path
from .layout import LOCK_FILE, LayoutStore
from .layout_reader import INDEX_FILE, blob_path, read_layout
from .layout_writer import digests_in_use, read_pending, remove_blobs, serialize_index, write_pending

REF_NAME = "org.opencontainers.image.ref.name"


class LayoutUndo(UndoAdapter):
    store: LayoutStore

    def __init__(self, store: LayoutStore):
        super().__init__(store)
        self._index: dict[str, list[Any]] = {}  # layout -> index.json entries as the run found them
        self._kept: list[Path] = []  # blobs this run linked aside

    def _layout(self, repository: str) -> Path:
        layout = self.store.layouts.get(repository)
        if layout is None:
            raise StoreError(f"no layout for repository {repository!r} in {self.store.source}")
        return layout

    def capture(self, run: Run, artifact: Artifact, rewritten: bool) -> SavedArtifact:
        layout = self._layout(artifact.repository)
        if artifact.repository not in self._index:
            doc = json.loads((layout / INDEX_FILE).read_bytes())
            self._index[artifact.repository] = list(doc.get("manifests", []))
        saved = self.saved_from(artifact, rewritten)
        saved.manifest = blob_path(layout, artifact.digest).read_bytes()
        saved.index_entries = [(i, e) for i, e in enumerate(self._index[artifact.repository])
                               if isinstance(e, dict) and e.get("digest") == artifact.digest]
        for digest in [artifact.digest, *saved.blobs]:
            kept = saved_blob_path(run, digest)
            if _keep_aside(blob_path(layout, digest), kept):
                self._kept.append(kept)
        return saved

    def after_run(self, run: Run) -> None:
        for kept in self._kept:
            try:
                # Another link holds the content: the layout kept the blob, or another layout's hard
                # link to it (which a later delete there keeps aside in turn). Ours would only make
                # that file look hard-linked elsewhere to every later plan.
                if kept.stat().st_nlink > 1:
                    kept.unlink()
            except OSError:
                pass
        self._kept = []

    def _find_blob(self, run: Run, digest: str) -> Path | None:
        """Where to take a blob from: kept aside by a run of this source, or another layout's file."""
        kept = kept_blob(run, digest)
        if kept is not None:
            return kept
        for layout in self.store.layouts.values():
            if blob_path(layout, digest).is_file():
                return blob_path(layout, digest)
        return None

    def missing(self, run: Run, items: list[SavedArtifact], current: Registry) -> list[MissingContent]:
        restoring = {(i.repository, i.digest) for i in items}
        found: list[MissingContent] = []
        for item in items:
            layout = self.store.layouts.get(item.repository)
            if layout is None:
                found.append(MissingContent(item.repository, item.digest, f"{item.label} (its layout is gone)"))
                continue
            for digest in item.blobs:
                if not blob_path(layout, digest).exists() and self._find_blob(run, digest) is None:
                    found.append(MissingContent(item.repository, digest, item.label))
            for child in item.children:  # a manifest listed and not restored must be in the layout itself
                if (item.repository, child) not in restoring and not blob_path(layout, child).exists():
                    found.append(MissingContent(item.repository, child, item.label))
        return found

    def restore(self, run: Run, items: list[SavedArtifact], retag: set[tuple[str, str]]) -> None:
        by_layout: dict[str, list[SavedArtifact]] = {}
        for item in items:
            by_layout.setdefault(item.repository, []).append(item)
        done: list[str] = []
        for name in sorted(by_layout):
            try:
                self._restore_layout(run, name, self._layout(name), by_layout[name],
                                     {tag for repo, tag in retag if repo == name})
            except StoreError as exc:
                so_far = f"restored in {', '.join(done)} only" if done else "nothing was restored"
                raise StoreError(f"{exc}; {so_far}") from None
            done.append(name)

    def _restore_layout(self, run: Run, name: str, layout: Path, items: list[SavedArtifact], retag: set[str]) -> None:
        lock_path = layout / LOCK_FILE
        try:
            with exclusive_lock(lock_path):
                self._restore_locked(run, name, layout, items, retag)
        except OSError as exc:
            raise StoreError(f"{lock_path}: cannot lock ({exc.strerror})") from None

    def _restore_locked(self, run: Run, name: str, layout: Path, items: list[SavedArtifact], retag: set[str]) -> None:
        index_path = layout / INDEX_FILE
        try:
            raw = index_path.read_bytes()
            doc = json.loads(raw)
        except (OSError, ValueError) as exc:
            raise StoreError(f"{index_path}: cannot read ({exc})") from None
        taken = {str(e["annotations"][REF_NAME]) for e in doc.get("manifests", [])
                 if isinstance(e, dict) and isinstance(e.get("annotations"), dict) and REF_NAME in e["annotations"]
                 and not any(e.get("digest") == i.digest for i in items)}
        late = sorted(t for i in items if not i.rewritten for t in i.tags if t in taken and t not in retag)
        if late:
            raise StoreError(f"{index_path}: the tag {late[0]!r} was given to another artifact since the undo "
                             "was planned; run the undo again to see the new plan")
        restored_blobs = self._put_blobs_back(run, layout, items)  # before index.json names any of them
        entries = [e for e in doc.get("manifests", []) if not _names_retagged(e, retag)]
        replaced = {t for i in items if i.rewritten for t in i.tags}  # a rewritten referrers index's tag
        # The index the delete wrote in place of the old one gives its tag back, and its blob goes below.
        written = {str(e.get("digest")) for e in entries if _names_retagged(e, replaced)}
        entries = [e for e in entries if not _names_retagged(e, replaced)]
        saved_entries = sorted(((p, e) for i in items for p, e in i.index_entries), key=lambda pe: pe[0])
        for position, entry in saved_entries:
            if entry not in entries:
                entries.insert(min(position, len(entries)), entry)
        doc["manifests"] = entries
        target = Path(os.path.realpath(index_path)) if index_path.is_symlink() else index_path
        try:
            write_atomically(target, serialize_index(doc, raw))
        except NestedTooDeeply:
            raise StoreError(f"{index_path}: nested too deeply to be written back") from None
        except OSError as exc:
            raise StoreError(f"{index_path}: cannot write ({exc.strerror})") from None
        self._drop_unused(name, layout, written - {i.digest for i in items})
        pending = read_pending(layout)
        if set(pending) & restored_blobs:
            try:  # a later delete would check them again anyway; the record simply stops naming them
                write_pending(layout, [d for d in pending if d not in restored_blobs])
            except OSError:
                pass

    @staticmethod
    def _drop_unused(name: str, layout: Path, digests: set[str]) -> None:
        """Remove the blobs of referrers indexes the delete wrote, once nothing in the layout uses them.
        A blob directory shared through symlinks is left alone: its other users are not read here."""
        if not digests or (layout / "blobs").is_symlink():
            return
        try:
            in_use = digests_in_use(read_layout(name, layout).repository, set())
        except OcitreeError:
            return  # unreadable now: the blob stays, shown as a leftover
        remove_blobs(blob_path(layout, d) for d in sorted(digests - in_use)
                     if not blob_path(layout, d).is_symlink() and not blob_path(layout, d).parent.is_symlink())

    def _put_blobs_back(self, run: Run, layout: Path, items: list[SavedArtifact]) -> set[str]:
        """Every blob of `items` in the layout again (bottom-up), before index.json names any of them."""
        restored: set[str] = set()
        directories: set[Path] = set()
        for item in items:
            for digest in [*item.blobs, item.digest]:
                path = blob_path(layout, digest)
                if path.exists():
                    continue
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    kept = self._find_blob(run, digest)
                    if kept is not None:
                        _link_or_copy(kept, path)
                    elif digest == item.digest and item.manifest is not None:
                        write_atomically(path, item.manifest, 0o644)
                    else:
                        raise StoreError(f"{path}: the saved copy of this blob is gone")
                except OSError as exc:
                    raise StoreError(f"{path}: cannot put the blob back ({exc.strerror})") from None
                restored.add(digest)
                directories.add(path.parent)
        for directory in directories:
            try:
                fsync_directory(directory)
            except OSError:
                pass  # in place; only its durability across a power cut is in doubt
        return restored


def _names_retagged(entry: Any, tags: set[str]) -> bool:
    if not tags or not isinstance(entry, dict):
        return False
    annotations = entry.get("annotations")
    return isinstance(annotations, dict) and annotations.get(REF_NAME) in tags


def _keep_aside(source: Path, kept: Path) -> bool:
    """A hard link to the blob in the run's directory (a copy across filesystems); False when there
    was nothing to do. Raises OSError."""
    if kept.exists():
        return False
    try:
        source.stat()
    except FileNotFoundError:
        return False  # not in the layout (a manifest listed but absent): nothing to keep
    kept.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _link_or_copy(source, kept)
    return True


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
