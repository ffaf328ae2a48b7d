"""Cutting a root of layouts in two parts that can be listed apart (LayoutStore.load_part).

A part must hold every layout that reaches one of its blob directories: the leftover blobs of a
directory are the files none of its layouts uses, so a layout outside the part would count its
blobs as leftovers. The cut keeps the layouts' order (a listing is in name order), and balances
the parts by the size of their index.json files, a cheap measure of how much each holds.
"""

from __future__ import annotations

import os
from pathlib import Path

from .layout_reader import INDEX_FILE
from .layout_sharing import ALGORITHMS


def split_in_two(layouts: dict[str, Path]) -> tuple[list[str], list[str]] | None:
    """The names of `layouts`, in order, cut where the two parts reach no blob directory in common,
    as near the middle of the work as such a cut allows; None when there is no such cut."""
    names = list(layouts)
    users: dict[str, tuple[int, int]] = {}  # real blob directory -> places of its first and last layout
    for i, name in enumerate(names):
        for algorithm in ALGORITHMS:
            directory = os.path.realpath(layouts[name] / "blobs" / algorithm)
            users[directory] = (users.get(directory, (i, i))[0], i)
    spanned = [0] * (len(names) + 1)  # how many directories a cut before names[k] would part
    for first, last in users.values():
        for k in range(first + 1, last + 1):
            spanned[k] += 1
    half = root_work(layouts) / 2
    best: tuple[float, int] | None = None  # (distance from the middle, cut)
    done = 0
    for k in range(1, len(names)):
        done += _index_size(layouts[names[k - 1]])
        if not spanned[k] and (best is None or abs(done - half) < best[0]):
            best = (abs(done - half), k)
    if best is None:
        return None
    return names[:best[1]], names[best[1]:]


def root_work(layouts: dict[str, Path]) -> int:
    """Bytes of all index.json files: whether listing in parts can pay for a second process."""
    return sum(_index_size(layout) for layout in layouts.values())


def _index_size(layout: Path) -> int:
    try:
        return os.stat(layout / INDEX_FILE).st_size
    except OSError:
        return 0  # the load says what is wrong with it
