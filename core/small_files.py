"""Reading a small file (a manifest, an image config) whole, in as few system calls as can be.

A layout root of 25,000 manifests and 11,000 configs is 36,000 files: per file, a stat to size the
read and a last read to see the end were a third of the time spent reading.
"""

from __future__ import annotations

import os

# Most manifests and configs are a few KiB; a larger one takes more reads. Below glibc's 128 KiB
# mmap threshold: a buffer that size from mmap cost 4x the read (the bytes are cut to size after).
FIRST_READ = 64 * 1024


def read_small_file(path: str, limit: int) -> bytes:
    """The file's bytes, or its first `limit + 1` when it is larger (the caller refuses those).
    Raises OSError (IsADirectoryError for a directory). A short read is taken as the end, as it
    is for a regular file; whatever else it cut short fails the digest check that follows."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, min(FIRST_READ, limit + 1))
        if len(data) < FIRST_READ:
            return data
        parts = [data]
        total = len(data)
        while total <= limit:
            more = os.read(fd, limit + 1 - total)
            if not more:
                break
            parts.append(more)
            total += len(more)
        return b"".join(parts)
    finally:
        os.close(fd)
