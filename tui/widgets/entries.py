"""What each tree row stands for, and the rows below it, read from the model on demand.

No Textual here: the tree widget turns entries into nodes only when a node is expanded.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocitree.core.model import PlatformInfo, Registry, Repository
from ocitree.core.names import short_hex

# A level wider than this is split into groups of this many rows: the Tree rebuilds its
# line list over every expanded node after each change, so no level may hold 100,000 rows.
GROUP_SIZE = 500


@dataclass(slots=True, eq=False)
class Entry:
    kind: str  # repository, artifact, missing (listed, not in the repository) or group
    repository: str = ""
    digest: str | None = None
    relation: str = "top"  # top, child (an index lists it) or accessory (its subject is `via`)
    via: str | None = None  # the index that lists it, or the subject it describes
    platform: PlatformInfo | None = None  # as the listing index states it
    items: list[Entry] | None = None  # the rows below, once computed
    filled: int = 0  # how many of `items` have become tree nodes

    @property
    def key(self) -> tuple[str, str] | None:
        """The artifact this row shows, or None for repositories, groups and missing children."""
        return (self.repository, self.digest) if self.kind == "artifact" and self.digest else None


class RootItems:
    """Per repository graph (a deletion makes a new one), the digests shown directly under a
    repository: its top-level artifacts, then those the top level does not lead to (accessories
    whose subject is gone, accessories of each other), which would otherwise hang under nothing.

    Sorting 100,000 artifacts takes tens of ms, so the load worker works them out before the
    first key press needs them (RegistryView.warm)."""

    def __init__(self) -> None:
        self._by_name: dict[str, tuple[Repository, list[str], frozenset[str]]] = {}

    def of(self, repo: Repository) -> list[str]:
        """A copy: callers sort and extend it."""
        return list(self._roots(repo)[0])

    def set_of(self, repo: Repository) -> frozenset[str]:
        return self._roots(repo)[1]

    def _roots(self, repo: Repository) -> tuple[list[str], frozenset[str]]:
        cached = self._by_name.get(repo.name)
        if cached is not None and cached[0] is repo:
            return cached[1], cached[2]
        top = repo.top_level()
        items = [a.digest for a in top] + [a.digest for a, _ in repo.detached(top)]
        roots = frozenset(items)
        self._by_name[repo.name] = (repo, items, roots)
        return items, roots


def items_below(registry: Registry, entry: Entry, roots: RootItems) -> list[Entry]:
    if entry.kind == "group":
        return entry.items or []
    if entry.kind == "repository":
        repo = registry.repositories.get(entry.repository)
        if repo is None:
            return []
        return [Entry("artifact", repo.name, d) for d in roots.of(repo)]
    if entry.kind != "artifact":
        return []
    repo = registry.repositories.get(entry.repository)
    if repo is None or entry.digest not in repo.artifacts:
        return []
    artifact = repo.artifacts[entry.digest]
    out: list[Entry] = []
    seen: set[str] = set()
    for child in artifact.children:
        if child.digest in seen:
            continue
        seen.add(child.digest)
        kind = "artifact" if child.digest in repo.artifacts else "missing"
        out.append(Entry(kind, repo.name, child.digest, "child", artifact.digest, child.platform))
    for acc in repo.accessories_of(artifact.digest):
        if acc in repo.artifacts:
            out.append(Entry("artifact", repo.name, acc, "accessory", artifact.digest))
    return out


def has_items(registry: Registry, entry: Entry) -> bool:
    if entry.kind in ("repository", "group"):
        return True
    if entry.kind != "artifact":
        return False
    repo = registry.repositories.get(entry.repository)
    if repo is None:
        return False
    artifact = repo.artifacts.get(entry.digest or "")
    return artifact is not None and bool(artifact.children or repo.accessories_of(artifact.digest))


def grouped(items: list[Entry]) -> list[Entry]:
    """Items as they appear under one node: themselves, or groups of GROUP_SIZE."""
    if len(items) <= GROUP_SIZE:
        return items
    return [Entry("group", items[0].repository, items=items[start : start + GROUP_SIZE]) for start in range(0, len(items), GROUP_SIZE)]


def entry_name(registry: Registry | None, entry: Entry) -> str:
    """What a group title calls an item: a repository name, a first tag, or a short digest."""
    if entry.kind == "repository":
        return entry.repository
    repo = registry.repositories.get(entry.repository) if registry else None
    artifact = repo.artifacts.get(entry.digest or "") if repo else None
    if artifact is not None and artifact.tags:
        return artifact.tags[0]
    return short_hex(entry.digest or "")


def group_title(registry: Registry | None, entry: Entry) -> str:
    items = entry.items or []
    if not items:
        return "(empty)"
    noun = "repositories" if items[0].kind == "repository" else "artifacts"
    return f"{len(items):,} {noun}: {entry_name(registry, items[0])} .. {entry_name(registry, items[-1])}"


def path_to(repo: Repository, digest: str, roots: RootItems) -> list[tuple[str, str, str | None]]:
    """A chain `(digest, relation, via)` from a row directly under the repository down to
    `digest`: up through the first parent, or to the subject of an accessory."""
    chain: list[tuple[str, str, str | None]] = []
    current = digest
    seen = {digest}
    top = roots.set_of(repo)
    while True:
        if current in top:  # includes where RootItems breaks a loop of accessories
            chain.append((current, "top", None))
            break
        parents = repo.parents_of(current)
        if parents:
            up, relation = parents[0], "child"
        else:
            subjects = repo.present_subjects(current)
            if not subjects:
                chain.append((current, "top", None))
                break
            up, relation = subjects[0], "accessory"
        chain.append((current, relation, up))
        if up in seen:  # a hand-made subject loop: show it where the loop closes
            chain[-1] = (current, "top", None)
            break
        seen.add(up)
        current = up
    chain.reverse()
    return chain
