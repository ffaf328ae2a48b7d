"""Durable file changes shared by every store: atomic replacement and sidecar locks.

A file is replaced by writing a temporary file beside it (same filesystem), fsyncing
it, renaming it over the original and fsyncing the directory, so a reader or a crash
sees the old content or the new, never a mix. Locks are flock()s on a separate
`.lock` file, because renaming replaces the inode a lock on the file itself would hold.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def stage_file(path: Path, data: bytes, mode: int | None = None) -> Path:
    """Write `data` to a synced temporary file beside `path`; `install_file` puts it in place.

    The temporary file takes `mode`, or else the mode `path` has now."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.chmod(tmp, mode if mode is not None else path.stat().st_mode & 0o777)
        except OSError:
            pass  # a new file keeps mkstemp's 0600
    except BaseException:
        discard(Path(tmp))
        raise
    return Path(tmp)


def install_file(tmp: Path, path: Path) -> None:
    """Rename `tmp` over `path`. Raises OSError only when `path` still has its old content."""
    os.replace(tmp, path)
    try:
        fsync_directory(path.parent)
    except OSError:
        # The new content is in place (some filesystems refuse fsync on a directory): reporting
        # a failure now would claim an unchanged file; only durability across a power cut is lost.
        pass


def write_atomically(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace `path` with `data` all at once. Raises OSError; the old file then stands."""
    tmp = stage_file(path, data, mode)
    try:
        install_file(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def discard(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


@contextmanager
def exclusive_lock(lock_path: Path, mode: int = 0o644) -> Iterator[None]:
    """Hold an exclusive flock on `lock_path` (created if absent). Raises OSError."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock
