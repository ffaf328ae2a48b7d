"""Undo on registry storage deleted --offline: the revision and tag links written back.

An offline delete removes a manifest's revision link and the tag directories naming it; the
manifest's own blob file and its config and layers stay until `garbage-collect`. So a restore
checks that every one of those blob files is still there, then writes the revision links
bottom-up and the tag links last, under the same lock as an offline delete (the registry stopped).
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from ...durable_files import write_atomically
from ...errors import StoreError
from ...model import Artifact, Registry
from ...undo.adapter import MissingContent, UndoAdapter
from ...undo.saved import Run, SavedArtifact
from .paths import blob_data_path, revision_link_path, tags_path
from .store import RegistryStorageStore


class OfflineStorageUndo(UndoAdapter):
    store: RegistryStorageStore

    def capture(self, run: Run, artifact: Artifact, rewritten: bool) -> SavedArtifact:
        saved = self.saved_from(artifact, rewritten)
        saved.manifest = blob_data_path(self.store.v2, artifact.digest).read_bytes()
        return saved

    def missing(self, run: Run, items: list[SavedArtifact], current: Registry) -> list[MissingContent]:
        v2 = self.store.v2
        restoring = {(i.repository, i.digest) for i in items}
        found: list[MissingContent] = []
        for item in items:
            for digest in [item.digest, *item.blobs]:
                if not blob_data_path(v2, digest).is_file():
                    found.append(MissingContent(item.repository, digest, item.label))
            for child in item.children:
                if (item.repository, child) not in restoring and not revision_link_path(v2, item.repository, child).is_file():
                    found.append(MissingContent(item.repository, child, item.label))
        return found

    def restore(self, run: Run, items: list[SavedArtifact], retag: set[tuple[str, str]]) -> None:
        v2 = self.store.v2
        try:
            fd = os.open(v2, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise StoreError(f"{v2}: cannot lock ({exc.strerror}); nothing was restored") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise StoreError(f"{v2}: another ocitree is changing this storage; wait for it and run again; "
                                     "nothing was restored") from None
                raise StoreError(f"{v2}: cannot lock ({exc.strerror}); nothing was restored") from None
            written = 0
            try:
                for item in items:  # bottom-up: an index is linked once its children are
                    _write_link(revision_link_path(v2, item.repository, item.digest), item.digest)
                    written += 1
                for item in items:  # tags last (a tag that names another artifact only with --retag)
                    for tag in item.tags:
                        tag_dir = tags_path(v2, item.repository) / tag
                        algorithm, _, hexpart = item.digest.partition(":")
                        _write_link(tag_dir / "index" / algorithm / hexpart / "link", item.digest)
                        _write_link(tag_dir / "current" / "link", item.digest)
                        written += 1
            except PermissionError:
                raise StoreError(f"{v2}: no permission to change the storage: run as the user the registry runs as; "
                                 f"{written} links written before this") from None
            except OSError as exc:
                raise StoreError(f"{v2}: cannot write a link ({exc.strerror}); {written} links written before this") from None
        finally:
            os.close(fd)


def _write_link(path: Path, digest: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, digest.encode(), 0o644)
