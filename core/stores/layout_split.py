"""Cutting a root of layouts into runs that can be listed apart (LayoutStore.load_part).

A part must hold every layout that reaches one of its blob directories: the leftover blobs of a
directory are the files none of its layouts uses, so a layout outside the part would count its
blobs as leftovers. Runs keep the layouts' order (a listing is in name order): any consecutive
runs make a part.
"""

from __future__ import annotations

import os
from pathlib import Path

from .layout_reader import INDEX_FILE
from .layout_sharing import ALGORITHMS, BlobListings


def independent_runs(layouts: dict[str, Path], listings: BlobListings | None = None) -> list[list[str]]:
    """The names of `layouts`, in order, cut wherever the layouts before and after the cut reach no
    blob directory in common, through a symlinked directory or blob files that are symlinks (each
    layout its own run where none shares a directory). `listings`: the blob directories as listed,
    which the loads of the parts then read again instead of listing them once more."""
    listings = listings or BlobListings()
    names = list(layouts)
    users: dict[str, tuple[int, int]] = {}  # real blob directory -> places of its first and last layout
    links: dict[str, set[str]] = {}  # real blob directory -> the directories its blob links lead into
    for i, name in enumerate(names):
        for algorithm in ALGORITHMS:
            directory = os.path.realpath(layouts[name] / "blobs" / algorithm)
            if directory not in links:
                listing = listings.listing(directory)  # None: no blobs of this algorithm, or unreadable (the load says so)
                links[directory] = {os.path.dirname(os.path.realpath(e.path)) for e in listing.symlinks} if listing else set()
            for reached in (directory, *links[directory]):
                users[reached] = (users.get(reached, (i, i))[0], i)
    spanned = [False] * len(names)  # spanned[k]: a directory is reached from both sides of a cut before names[k]
    for first, last in users.values():
        for k in range(first + 1, last + 1):
            spanned[k] = True
    runs: list[list[str]] = []
    for k, name in enumerate(names):
        if spanned[k]:  # never the first
            runs[-1].append(name)
        else:
            runs.append([name])
    return runs


def root_work(layouts: dict[str, Path]) -> int:
    """Bytes of all index.json files: whether listing in parts can pay for a second process."""
    total = 0
    for layout in layouts.values():
        try:
            total += os.stat(layout / INDEX_FILE).st_size
        except OSError:
            pass  # the load says what is wrong with it
    return total
