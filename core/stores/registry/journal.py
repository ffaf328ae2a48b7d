"""The deletion journal: manifests a cut-off deletion may have left where the API cannot see them.

A plain registry shows a manifest only through a tag or an index that lists it. Deleting top-down
(an index before its children, a subject before its accessories) keeps every remaining artifact
whole if a run is cut off, but the untagged children of an index that did go are then listed by
nothing: invisible, so no later load or plan could ever reach them. So before an artifact is
deleted, its children and accessories are written here (durably); loads of that registry fetch
them by digest, so leftovers show as unreferenced artifacts that the next plan can delete.
An entry goes once its digest is gone (deleted, or a 404 on a later load) or is reachable again
through a tag or an index.

File: `<state_dir>/registry-journal.json`, `{"version": 1, "hosts": {host: {repository: [digest]}}}`,
rewritten atomically under an exclusive lock on a sidecar `.lock` file, mode 0600.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ...durable_files import write_atomically
from ...errors import StoreError
from ...names import is_digest, is_repository_name
from ...paths import state_dir

VERSION = 1


class DeletionJournal:
    def __init__(self, host: str, path: Path | None = None):
        self.host = host
        self.path = path if path is not None else state_dir() / "registry-journal.json"

    def entries(self) -> dict[str, list[str]]:
        """repository -> digests to look for, for this registry; {} when there is no journal."""
        try:
            doc = self._read()
        except StoreError:
            return {}  # an unreadable journal must not stop a load; writing it will say why
        hosts: dict[str, dict[str, list[str]]] = doc["hosts"]
        return hosts.get(self.host, {})

    def add(self, repository: str, digests: Iterable[str]) -> None:
        """Record `digests` before the DELETE that could leave them unreachable. Raises StoreError."""
        digests = [d for d in digests if is_digest(d)]
        if not digests:
            return

        def record(repos: dict[str, list[str]]) -> None:
            listed = repos.setdefault(repository, [])
            listed.extend(d for d in dict.fromkeys(digests) if d not in listed)

        self._update(record)

    def discard(self, found: Mapping[str, Iterable[str]]) -> None:
        """Forget digests that are gone or reachable again (best effort: a stale entry costs one request)."""
        found = {repo: set(digests) for repo, digests in found.items() if digests}
        if not found:
            return

        def drop(repos: dict[str, list[str]]) -> None:
            for repo, digests in found.items():
                kept = [d for d in repos.get(repo, []) if d not in digests]
                if kept:
                    repos[repo] = kept
                else:
                    repos.pop(repo, None)

        try:
            self._update(drop)
        except StoreError:
            pass

    # -- file ------------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {"version": VERSION, "hosts": {}}
        except OSError as exc:
            raise StoreError(f"deletion journal {self.path}: cannot read ({exc.strerror})") from None
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            doc = None
        if not isinstance(doc, dict) or not isinstance(doc.get("hosts"), dict):
            return {"version": VERSION, "hosts": {}}  # damaged: start afresh rather than fail every load
        hosts = {}
        for host, repos in doc["hosts"].items():
            if isinstance(repos, dict):
                hosts[host] = {r: [d for d in ds if is_digest(d)] for r, ds in repos.items()
                               if is_repository_name(r) and isinstance(ds, list)}
        return {"version": VERSION, "hosts": hosts}

    def _update(self, change: Callable[[dict[str, list[str]]], None]) -> None:
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"deletion journal {self.path}: cannot create ({exc.strerror})") from None
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            doc = self._read()
            repos = doc["hosts"].setdefault(self.host, {})
            change(repos)
            if not repos:
                del doc["hosts"][self.host]
            self._write(doc)
        finally:
            os.close(lock_fd)  # closing drops the lock

    def _write(self, doc: dict[str, Any]) -> None:
        data = (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()
        try:
            write_atomically(self.path, data, mode=0o600)
        except OSError as exc:
            raise StoreError(f"deletion journal {self.path}: cannot write ({exc.strerror})") from None
