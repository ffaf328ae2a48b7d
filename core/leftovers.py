"""Leftovers across a registry: what a cleanup would look at first (the TUI's `L`).

Groups: untagged top-level images and indexes (no tag, no index lists them), orphaned
accessories (their subject is gone), indexes listing children the repository does not hold,
and, for OCI layouts, blob files no manifest references. Each group can be marked as a whole;
marking goes through the same planner as any delete, so nothing here decides what is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .model import Registry
from .prune import is_untagged_image, orphaned_accessories

LeftoverKind = Literal["untagged", "orphaned_accessories", "missing_children", "unreferenced_blobs"]

TITLES: dict[LeftoverKind, str] = {
    "untagged": "untagged top-level manifests",
    "orphaned_accessories": "orphaned accessories (subject gone)",
    "missing_children": "indexes with missing children",
    "unreferenced_blobs": "blobs no manifest references (OCI layouts)",
}


@dataclass
class LeftoverGroup:
    kind: LeftoverKind
    artifacts: list[tuple[str, str]] = field(default_factory=list)  # (repository, digest): markable
    blobs: list[tuple[str, str, int]] = field(default_factory=list)  # (repository, digest, size): removed by the next delete there
    size: int = 0  # manifest and blob bytes the group holds (an upper bound of what deleting it frees)

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def count(self) -> int:
        return len(self.artifacts) + len(self.blobs)


def find_leftovers(registry: Registry) -> list[LeftoverGroup]:
    groups: dict[LeftoverKind, LeftoverGroup] = {k: LeftoverGroup(k) for k in TITLES}
    for name, repo in registry.repositories.items():
        for artifact in repo.top_level_in_order():
            if is_untagged_image(artifact):
                g = groups["untagged"]
                g.artifacts.append((name, artifact.digest))
                g.size += artifact.total_size
        for artifact in orphaned_accessories(repo):
            g = groups["orphaned_accessories"]
            g.artifacts.append((name, artifact.digest))
            g.size += artifact.total_size
        arts = repo.artifacts
        for artifact in arts.values():
            if artifact.is_index and any(c.digest not in arts for c in artifact.children):
                g = groups["missing_children"]
                g.artifacts.append((name, artifact.digest))
                g.size += artifact.size
        for digest, size in repo.leftover_blobs.items():
            g = groups["unreferenced_blobs"]
            g.blobs.append((name, digest, size))
            g.size += size
    return list(groups.values())
