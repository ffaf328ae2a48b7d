"""Units of work, in order, that two processes take one at a time from opposite ends until they meet.

Each process then holds a run of consecutive units (the first process a head, the second a tail),
as long as its speed allowed: a process slowed by another program on its CPU takes fewer. The two
ends live in a small memory file both processes map after a fork; a POSIX record lock on it (one
process's, let go by the kernel when that process ends) makes each take whole.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct

_ENDS = struct.Struct("ii")  # next unit from the front, one past the last from the back


class TwoEndedClaims:
    """Made before the fork; `take` from either process after it."""

    def __init__(self, count: int) -> None:
        self._fd = os.memfd_create("ocitree-claims", os.MFD_CLOEXEC)
        os.ftruncate(self._fd, _ENDS.size)
        self._ends = mmap.mmap(self._fd, _ENDS.size)
        _ENDS.pack_into(self._ends, 0, 0, count)

    def take(self, from_front: bool) -> int | None:
        """The next unit from that end, or None when none is left."""
        fcntl.lockf(self._fd, fcntl.LOCK_EX)
        try:
            front, back = _ENDS.unpack_from(self._ends, 0)
            if front >= back:
                return None
            if from_front:
                _ENDS.pack_into(self._ends, 0, front + 1, back)
                return front
            _ENDS.pack_into(self._ends, 0, front, back - 1)
            return back - 1
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._ends.close()
        os.close(self._fd)
