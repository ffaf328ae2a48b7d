"""Which layouts of a root share blob files, and which blob directories ocitree must leave alone.

Layouts may share blobs through symlinks (a common way to deduplicate a zot-style root): a
`blobs/<algorithm>` directory that is a symlink, or single blob files that are symlinks into
another layout's or a common directory. A blob is identified by the real file it resolves to,
so every layout reaching the same file uses the same blob: it is removed only when none of them
uses it any more (and the links to it go with it).

A blob directory reached through a symlink that leads outside the SOURCE may have users
ocitree cannot see (layouts elsewhere), so nothing is ever removed from it: unaccounted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..blob_scope import BlobScope, Reclaim

ALGORITHMS = ("sha256", "sha512")


@dataclass(frozen=True, slots=True)
class BlobDirectory:
    """One blob directory as listed: the names of its regular files, and its symlinks. Not every
    entry: 58,000 DirEntry objects of a 25,000-manifest root, kept for the whole load, cost more
    than listing them."""

    files: list[str]
    symlinks: list[os.DirEntry[str]]


class BlobListings:
    """Each blob directory, listed once per load: the blob scope and the leftover count both look
    at every blob file name (58,000 of them in a 25,000-manifest root)."""

    def __init__(self) -> None:
        self._listed: dict[str, BlobDirectory | None] = {}

    def listing(self, directory: str) -> BlobDirectory | None:
        """None: no such directory, or unreadable (reading the layout says so)."""
        if directory not in self._listed:
            self._listed[directory] = _list(directory)
        return self._listed[directory]


def _list(directory: str) -> BlobDirectory | None:
    files: list[str] = []
    symlinks: list[os.DirEntry[str]] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):  # the entry's type from the listing: no stat
                    files.append(entry.name)
                elif entry.is_symlink():
                    symlinks.append(entry)
    except OSError:
        return None
    return BlobDirectory(files, symlinks)


def layout_blob_scope(root: Path, layouts: dict[str, Path], reclaim: Reclaim,
                      listings: BlobListings | None = None) -> BlobScope:
    real_root = os.path.realpath(root)
    domains: dict[tuple[str, str], str] = {}
    private: set[str] = set()  # blob directories that are some layout's own, not reached through a symlink
    by_directory: dict[tuple[str, str], list[str]] = {}  # (real blob directory, algorithm) -> layouts using it
    for name, layout in layouts.items():
        own = os.path.realpath(layout)
        for algorithm in ALGORITHMS:
            directory = os.path.realpath(layout / "blobs" / algorithm)
            domains[(name, algorithm)] = directory
            by_directory.setdefault((directory, algorithm), []).append(name)
            if directory == os.path.join(own, "blobs", algorithm):
                private.add(directory)
    files, links, hard_links = _blob_links(by_directory, listings or BlobListings())
    unaccounted: dict[str, str] = {}
    for (name, algorithm), directory in domains.items():
        if directory not in private and not _inside(directory, real_root) and directory not in unaccounted:
            unaccounted[directory] = (f"{name}/blobs/{algorithm} is a symlink to a directory outside {root}; "
                                      f"layouts there may use these blobs (open their common root to remove them)")
    for (name, digest), directory in files.items():
        if not os.path.isdir(directory) and directory not in unaccounted:
            unaccounted[directory] = f"a blob link of {name} leads to a file of another name"
        if directory not in private and not _inside(directory, real_root) and directory not in unaccounted:
            unaccounted[directory] = (f"blob files of {name} are symlinks to {directory}, outside {root}; "
                                      f"layouts there may use them")
    users: dict[str, int] = {}
    for directory in domains.values():
        users[directory] = users.get(directory, 0) + 1
    if len(layouts) == 1:
        counted = "the layout"
    elif files or any(n > 1 for n in users.values()):
        counted = f"every layout under {root} that reaches the same blob file"
    else:
        counted = f"each layout under {root} (none shares its blob files)"
    return BlobScope(reclaim=reclaim, exact=True, counted_across=counted, domains=domains, files=files,
                     links=links, hard_links=hard_links, unaccounted=unaccounted)


def _blob_links(
    by_directory: dict[tuple[str, str], list[str]], listings: BlobListings,
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], list[str]], HardLinkedBlobs]:
    """Blob files that are symlinks: (layout, digest) -> the real directory of the file they lead to,
    and (that directory, digest) -> the link paths; and the blob files with several hard links
    (HardLinkedBlobs, read when a plan first asks). Each real directory is listed once."""
    files: dict[tuple[str, str], str] = {}
    links: dict[tuple[str, str], list[str]] = {}
    for (directory, algorithm), names in by_directory.items():
        listing = listings.listing(directory)
        if listing is None:
            continue  # no such directory (no blobs of this algorithm), or unreadable: reading the layout says so
        for entry in listing.symlinks:
            target = os.path.realpath(entry.path)
            target_directory, target_name = os.path.split(target)
            digest = f"{algorithm}:{entry.name}"
            if target_name != entry.name:
                target_directory = f"{target} (a blob link to a file of another name)"  # never removed
            for name in names:
                files[(name, digest)] = target_directory
            links.setdefault((target_directory, digest), []).append(entry.path)
    return files, links, HardLinkedBlobs(list(by_directory))


class HardLinkedBlobs(Mapping[tuple[str, str], tuple[int, int, int]]):
    """Blob files with several hard links (removing one of those frees no space):
    (directory, digest) -> (device, inode, links). Finding them takes a stat of every blob file
    (most of `ocitree ls` on a large root, which never asks), so it waits for the first plan."""

    def __init__(self, directories: list[tuple[str, str]]) -> None:
        self._directories = directories  # (real blob directory, algorithm)
        self._found: dict[tuple[str, str], tuple[int, int, int]] | None = None

    def _read(self) -> dict[tuple[str, str], tuple[int, int, int]]:
        if self._found is None:
            found: dict[tuple[str, str], tuple[int, int, int]] = {}
            listings = BlobListings()  # listed now, when a plan asks, not at the load
            for directory, algorithm in self._directories:
                listing = listings.listing(directory)
                for name in listing.files if listing is not None else ():
                    try:
                        st = os.lstat(os.path.join(directory, name))
                    except OSError:
                        continue
                    if st.st_nlink > 1:
                        found[(directory, f"{algorithm}:{name}")] = (st.st_dev, st.st_ino, st.st_nlink)
            self._found = found
        return self._found

    def __getitem__(self, key: tuple[str, str]) -> tuple[int, int, int]:
        return self._read()[key]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())


def sharing_layouts(scope: BlobScope, names: set[str]) -> set[str]:
    """`names` and every layout that reaches a blob directory or blob file one of them reaches."""
    wanted = {d for (name, _), d in scope.domains.items() if name in names}
    wanted.update(d for (name, _), d in scope.files.items() if name in names)
    wanted -= set(scope.unaccounted)
    found = set(names)
    found.update(name for (name, _), d in scope.domains.items() if d in wanted)
    found.update(name for (name, _), d in scope.files.items() if d in wanted)
    return found


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)
