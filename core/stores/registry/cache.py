"""Manifests on disk by digest, in the user's cache directory.

Content addressed by digest never changes, so a cached manifest is valid for every registry
and repository that has that digest. Entries are verified against their digest when written
(by the loader, before it hands them over) and again when read: a damaged entry is dropped
and fetched again. The cache is an optimisation only: when it cannot be opened, read or
written, loading goes on without it.

Storage: one SQLite file, `<cache_dir>/manifests.sqlite3` (mode 0600): digest -> the manifest's
bytes and the artifact record parsed from them (artifacts.artifact_record); and image config
digest -> the `created` time read from that config (NULL: the config has none), the only field
of a config ocitree uses, so a config is fetched once ever, however many loads follow. A file per digest
was measured first: creating 2,000 small files cost 0.05 to 1 s depending on the file system,
as much as fetching them; SQLite writes them in one transaction in a few milliseconds and lets
several ocitree processes share the file.

It also keeps the digest each tag had at the last load, per registry and repository: only as a
hint, sent as If-None-Match so that the registry can answer "unchanged" (304) without reading
the manifest. The registry decides, so a moved tag is always seen.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from ...digests import digest_matches
from ...names import is_digest
from ...paths import cache_dir
from .artifacts import RECORD_VERSION

_FLUSH_EVERY = 500  # entries held in memory before they are written
_BATCH = 500  # digests per SELECT (SQLite allows 999 parameters in old builds)
_SCHEMA = 200 + RECORD_VERSION  # PRAGMA user_version; any other value: the cache starts over (200: configs table)
_BUSY_TIMEOUT = 10.0  # seconds to wait for another process's write; longer, and this load goes without


class ManifestCache:
    def __init__(self, path: Path | None = None):
        self.path = path if path is not None else cache_dir() / "manifests.sqlite3"
        self.hits = 0
        self._db: sqlite3.Connection | None = None
        self._unusable = False
        self._pending: dict[str, tuple[bytes, str]] = {}
        self._pending_tags: dict[tuple[str, str], dict[str, str]] = {}
        self._pending_created: dict[str, float | None] = {}
        self._lock = threading.Lock()  # one connection, used from the loader's thread and the store's

    # -- opening -------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # before SQLite creates it with the umask
        os.close(fd)
        db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if db.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA:
                db.execute("BEGIN IMMEDIATE")
                # Asked again under the write lock: another process may have just created the tables.
                if db.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA:
                    db.execute("DROP TABLE IF EXISTS manifests")
                    db.execute("DROP TABLE IF EXISTS tags")
                    db.execute("DROP TABLE IF EXISTS configs")
                    db.execute("CREATE TABLE manifests (digest TEXT PRIMARY KEY, data BLOB NOT NULL, "
                               "record TEXT NOT NULL)")
                    db.execute("CREATE TABLE tags (registry TEXT NOT NULL, repository TEXT NOT NULL, tag TEXT NOT NULL, "
                               "digest TEXT NOT NULL, PRIMARY KEY (registry, repository, tag))")
                    db.execute("CREATE TABLE configs (digest TEXT PRIMARY KEY, created REAL)")
                    db.execute(f"PRAGMA user_version = {_SCHEMA}")
                db.execute("COMMIT")
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _database(self) -> sqlite3.Connection | None:
        if self._db is None and not self._unusable:
            try:
                self._db = self._connect()
            except sqlite3.OperationalError:
                # Busy (another process writing), read-only, full: not damage, so nothing is removed.
                self._unusable = True
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

    # -- manifests -----------------------------------------------------------------------------

    def get_many(self, digests: Iterable[str]) -> dict[str, tuple[bytes, str]]:
        """digest -> (bytes, record) for those cached and intact."""
        wanted = list(digests)
        found: dict[str, tuple[bytes, str]] = {}
        with self._lock:
            for digest in wanted:
                entry = self._pending.get(digest)
                if entry is not None:
                    found[digest] = entry
            rest = [d for d in wanted if d not in found]
            db = self._database() if rest else None
            if db is None:
                return found
            damaged = []
            try:
                for start in range(0, len(rest), _BATCH):
                    chunk = rest[start:start + _BATCH]
                    marks = ",".join("?" * len(chunk))
                    for digest, data, record in db.execute(
                            f"SELECT digest, data, record FROM manifests WHERE digest IN ({marks})", chunk):
                        data = bytes(data)
                        if digest_matches(digest, data):
                            found[digest] = (data, record)
                        else:
                            damaged.append((digest,))
                if damaged:
                    db.executemany("DELETE FROM manifests WHERE digest = ?", damaged)
            except sqlite3.Error:
                pass
        self.hits += len(found)
        return found

    def get(self, digest: str) -> tuple[bytes, str] | None:
        return self.get_many([digest]).get(digest)

    def put(self, digest: str, data: bytes, record: str) -> None:
        """Keep `data` (which the caller has verified against `digest`) and its record; written in batches."""
        with self._lock:
            self._pending[digest] = (data, record)
            full = len(self._pending) >= _FLUSH_EVERY
        if full:
            self.flush()

    def forget(self, digest: str) -> None:
        """Drop an entry whose record turned out unusable."""
        with self._lock:
            self._pending.pop(digest, None)
            db = self._database()
            if db is not None:
                try:
                    db.execute("DELETE FROM manifests WHERE digest = ?", (digest,))
                except sqlite3.Error:
                    pass

    # -- image configs' created times ----------------------------------------------------------

    def created_many(self, digests: Iterable[str]) -> dict[str, float | None]:
        """config digest -> created (None: that config has no date), for the configs already read.
        Unlike a manifest, only the time is kept: the caller verified the config's bytes when it read them."""
        wanted = list(digests)
        found: dict[str, float | None] = {}
        with self._lock:
            for digest in wanted:
                if digest in self._pending_created:
                    found[digest] = self._pending_created[digest]
            rest = [d for d in wanted if d not in found]
            db = self._database() if rest else None
            if db is None:
                return found
            try:
                for start in range(0, len(rest), _BATCH):
                    chunk = rest[start:start + _BATCH]
                    marks = ",".join("?" * len(chunk))
                    for digest, created in db.execute(
                            f"SELECT digest, created FROM configs WHERE digest IN ({marks})", chunk):
                        found[digest] = created if isinstance(created, float) else None
            except sqlite3.Error:
                pass
        return found

    def put_created(self, digest: str, created: float | None) -> None:
        """Keep what the config `digest` (verified by the caller) says; written with the manifests."""
        with self._lock:
            self._pending_created[digest] = created
            full = len(self._pending_created) >= _FLUSH_EVERY
        if full:
            self.flush()

    # -- tag hints -----------------------------------------------------------------------------

    def tag_hints(self, registry: str, repository: str) -> dict[str, str]:
        """tag -> digest as the last load of this repository saw it."""
        with self._lock:
            db = self._database()
            if db is None:
                return {}
            try:
                rows = db.execute("SELECT tag, digest FROM tags WHERE registry = ? AND repository = ?",
                                  (registry, repository)).fetchall()
            except sqlite3.Error:
                return {}
            # A hint goes into a request header: a damaged one must not reach it.
            return {tag: digest for tag, digest in rows if is_digest(digest)}

    def remember_tags(self, registry: str, repository: str, tags: dict[str, str]) -> None:
        """What a load saw; replaces the repository's hints at the next flush."""
        with self._lock:
            self._pending_tags[(registry, repository)] = dict(tags)

    # -- writing -------------------------------------------------------------------------------

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            pending_tags, self._pending_tags = self._pending_tags, {}
            pending_created, self._pending_created = self._pending_created, {}
            db = self._database() if pending or pending_tags or pending_created else None
            if db is None:
                return
            try:
                db.execute("BEGIN")
                db.executemany("INSERT OR IGNORE INTO manifests (digest, data, record) VALUES (?, ?, ?)",
                               [(d, data, record) for d, (data, record) in pending.items()])
                db.executemany("INSERT OR IGNORE INTO configs (digest, created) VALUES (?, ?)", pending_created.items())
                for (registry, repository), tags in pending_tags.items():
                    db.execute("DELETE FROM tags WHERE registry = ? AND repository = ?", (registry, repository))
                    db.executemany("INSERT INTO tags (registry, repository, tag, digest) VALUES (?, ?, ?, ?)",
                                   [(registry, repository, t, d) for t, d in tags.items()])
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
