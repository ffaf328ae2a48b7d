"""Where blobs live, as the model needs it to say what a deletion frees.

A registry stores each blob once for all its repositories, so a blob is freed only when no
manifest of any repository uses it. A root of OCI layouts usually gives each layout its own
`blobs/` directory, but layouts may share one (a symlink: a common way to deduplicate): those
layouts are one blob store. A store describes this with a BlobScope on the Registry it loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Reclaim = Literal["gc", "immediate", "kept"]


@dataclass(frozen=True, slots=True)
class BlobScope:
    #: who frees unused blobs: "gc" (the registry's garbage collector, later), "immediate" (the
    #: store removes them itself), "kept" (left in place)
    reclaim: Reclaim = "gc"
    #: False where blobs may have users ocitree cannot see, so that the figure is an upper bound
    exact: bool = True
    #: the users counted, in words ("every repository of the registry (12)")
    counted_across: str = "every repository of the source"
    #: why the figure is only an upper bound (with exact False)
    caveat: str = ""
    #: (repository, digest algorithm) -> the blob store it uses; absent: the one store of the source
    domains: Mapping[tuple[str, str], str] = field(default_factory=dict)
    #: (repository, digest) -> the blob store of a blob file that is a symlink (layouts: where it leads)
    files: Mapping[tuple[str, str], str] = field(default_factory=dict)
    #: (blob store, digest) -> paths of symlinks leading to that blob file (removed with it)
    links: Mapping[tuple[str, str], list[str]] = field(default_factory=dict)
    #: (blob store, digest) -> (device, inode, link count) of a blob file with several hard links
    hard_links: Mapping[tuple[str, str], tuple[int, int, int]] = field(default_factory=dict)
    #: blob store -> why ocitree never removes blobs from it (users it cannot see)
    unaccounted: Mapping[str, str] = field(default_factory=dict)

    def domain(self, repository: str, digest: str) -> str:
        if not self.domains:
            return ""
        if self.files:
            linked = self.files.get((repository, digest))
            if linked is not None:
                return linked
        return self.domains.get((repository, digest.partition(":")[0]), "")
