"""Manifests on disk by digest, in the user's cache directory.

Content addressed by digest never changes, so a cached manifest is valid for every registry
and repository that has that digest. Entries are verified against their digest when written
(by the loader, before it hands them over) and again when read: a damaged entry is dropped
and fetched again. The cache is an optimisation only: when it cannot be opened, read or
written, loading goes on without it.

Storage: one SQLite file, `<cache_dir>/manifests.sqlite3` (mode 0600), digest -> bytes.
A file per digest was measured first: creating 2,000 small files cost 0.05 to 1 s depending
on the file system, as much as fetching them; SQLite writes them in one transaction in a
few milliseconds and lets several ocitree processes share the file.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path

from ...paths import cache_dir

_FLUSH_EVERY = 500  # entries held in memory before they are written


def digest_matches(digest: str, data: bytes) -> bool:
    algorithm, _, hexpart = digest.partition(":")
    if algorithm not in ("sha256", "sha512"):
        return False
    return hashlib.new(algorithm, data).hexdigest() == hexpart


class ManifestCache:
    def __init__(self, path: Path | None = None):
        self.path = path if path is not None else cache_dir() / "manifests.sqlite3"
        self.hits = 0
        self._db: sqlite3.Connection | None = None
        self._unusable = False
        self._pending: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # before SQLite creates it with the umask
        os.close(fd)
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS manifests (digest TEXT PRIMARY KEY, data BLOB NOT NULL)")
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _database(self) -> sqlite3.Connection | None:
        if self._db is None and not self._unusable:
            try:
                self._db = self._connect()
            except sqlite3.DatabaseError:
                # Not a database (damaged, or something else at that path): start afresh, once.
                try:
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                    self._db = self._connect()
                except (OSError, sqlite3.Error):
                    self._unusable = True
            except (OSError, sqlite3.Error):
                self._unusable = True
        return self._db

    def get(self, digest: str) -> bytes | None:
        with self._lock:
            data = self._pending.get(digest)
            if data is not None:
                return data
            db = self._database()
            if db is None:
                return None
            try:
                row = db.execute("SELECT data FROM manifests WHERE digest = ?", (digest,)).fetchone()
            except sqlite3.Error:
                return None
            if row is None:
                return None
            data = bytes(row[0])
            if not digest_matches(digest, data):
                try:
                    db.execute("DELETE FROM manifests WHERE digest = ?", (digest,))
                except sqlite3.Error:
                    pass
                return None
            self.hits += 1
            return data

    def put(self, digest: str, data: bytes) -> None:
        """Keep `data`, which the caller has verified against `digest`; written in batches."""
        with self._lock:
            self._pending[digest] = data
            full = len(self._pending) >= _FLUSH_EVERY
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            db = self._database() if pending else None
            if db is None:
                return
            try:
                db.execute("BEGIN")
                db.executemany("INSERT OR IGNORE INTO manifests (digest, data) VALUES (?, ?)", pending.items())
                db.execute("COMMIT")
            except sqlite3.Error:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
