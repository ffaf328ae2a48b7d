"""Which layouts of a root share a blob directory, and which blob directories ocitree must leave alone.

Layouts may share `blobs/<algorithm>` through a symlink (a common way to deduplicate a zot-style
root). Two layouts whose blob directories resolve to the same real directory are one blob store:
a blob there is removed only when no remaining manifest of any of them uses it.

A blob directory reached through a symlink that leads outside the SOURCE may have users
ocitree cannot see (layouts elsewhere), so nothing is ever removed from it: unaccounted.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..blob_scope import BlobScope, Reclaim

ALGORITHMS = ("sha256", "sha512")


def layout_blob_scope(root: Path, layouts: dict[str, Path], reclaim: Reclaim) -> BlobScope:
    real_root = os.path.realpath(root)
    domains: dict[tuple[str, str], str] = {}
    unaccounted: dict[str, str] = {}
    users: dict[str, int] = {}
    for name, layout in layouts.items():
        own = os.path.realpath(layout)
        for algorithm in ALGORITHMS:
            directory = os.path.realpath(layout / "blobs" / algorithm)
            domains[(name, algorithm)] = directory
            users[directory] = users.get(directory, 0) + 1
            private = directory == os.path.join(own, "blobs", algorithm)
            if not private and not _inside(directory, real_root) and directory not in unaccounted:
                unaccounted[directory] = (f"{name}/blobs/{algorithm} is a symlink to a directory outside {root}; "
                                          f"layouts there may use these blobs (open their common root to remove them)")
    shared = any(n > 1 for n in users.values())
    if len(layouts) == 1:
        counted = "the layout"
    elif shared:
        counted = f"every layout under {root} that uses the same blob directory"
    else:
        counted = f"each layout under {root} (none shares its blob directory)"
    return BlobScope(reclaim=reclaim, exact=True, counted_across=counted, domains=domains, unaccounted=unaccounted)


def sharing_layouts(scope: BlobScope, names: set[str]) -> set[str]:
    """`names` and every layout that shares a blob directory with one of them."""
    wanted = {d for (name, _), d in scope.domains.items() if name in names and d not in scope.unaccounted}
    return set(names) | {name for (name, _), d in scope.domains.items() if d in wanted}


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)
