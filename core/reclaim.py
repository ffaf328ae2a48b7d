"""What a deletion frees: blobs that no remaining artifact of the same blob store uses.

A blob store is the whole registry for a live registry (distribution keeps each blob once and
its garbage collector keeps every blob any manifest of any repository uses: the manifest
itself, an index's entries, a config, a layer) and one blob directory for OCI layouts (shared
by every layout whose `blobs/<algorithm>` resolves to it). Pure: reads the model only.

Cost is proportional to the deletion, after one pass over the registry (on the first plan,
and only where a blob store has several repositories) that counts the digests several
repositories use. Where the registry is one blob store and most of it goes (a prune), what the
deletion uses less what stays is as cheap as that pass alone, and no pass is made.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet

from .blob_scope import BlobScope
from .cancellation import raise_if_stopped
from .model import Artifact, Registry, Repository, used_digests


def reclaimable(registry: Registry, chosen: Mapping[str, Iterable[str]]) -> tuple[int, list[str]]:
    """Bytes freed once the artifacts `chosen` (repository -> digests) are gone, and notes on
    blobs it leaves out because their store has users ocitree cannot see."""
    scope = registry.blob_scope
    one_store = not scope.domains and not scope.hard_links  # a registry: whole lists at once
    gone_by_repo = {name: list(map(registry.repositories[name].artifacts.__getitem__, digests))  # a prune's 805k: C-level
                    for name, digests in chosen.items()}
    # Most of the registry goes (a prune) and the table below is not built yet: what goes less what
    # stays costs less than building it. Once built (a small deletion's plan, the TUI's), it is quicker.
    if one_store and registry.shared_digests is None and 2 * sum(map(len, gone_by_repo.values())) > registry.artifact_count:
        return _reclaimable_in_one_store(registry, gone_by_repo)
    shared = _shared_digests(registry)
    several = set().union(*shared.values())  # the only digests whose users need counting
    stores: dict[str, _StoreTally] = {}
    order: dict[tuple[str, str], None] = {}  # (blob store, digest) as first met, for hard links
    # A digest no other repository of its store uses is freed or not by its own repository alone:
    # summed there. Only digests several repositories use wait for every repository's part (a few
    # against millions: merging all into one table made a million-artifact prune super-linear).
    # With hard links every blob file is weighed at the end, so all wait.
    alone = not scope.hard_links
    for name, gone in gone_by_repo.items():
        raise_if_stopped()
        repo = registry.repositories[name]
        sized = _sizes(gone)
        still, emptied = _left_in(repo, gone, sized, several)
        if one_store:
            _tally(stores, "").add_repository(sized, still, emptied, several)
            continue
        for digest in still:
            _tally(stores, scope.domain(name, digest)).still.add(digest)
        for digest in emptied:
            _tally(stores, scope.domain(name, digest)).emptied[digest] += 1
        for digest, size in sized.items():
            domain = scope.domain(name, digest)
            tally = _tally(stores, domain)
            if alone and digest not in several:
                if digest not in still:
                    tally.alone_blobs += 1
                    tally.alone_bytes += size
            else:
                tally.sizes[digest] = size
                order[(domain, digest)] = None
    freed_bytes = 0
    staying_in: dict[str, set[str]] = {}  # blob store -> digests of the deletion that stay there
    kept: dict[str, list[int]] = {}  # unaccounted blob store -> [blobs, bytes]
    for domain, tally in stores.items():
        staying = staying_in[domain] = tally.staying(shared.get(domain, {}))
        # What goes less what stays: most of a big deletion is freed.
        blobs = tally.alone_blobs + len(tally.sizes) - len(staying)
        size = tally.alone_bytes + sum(tally.sizes.values()) - sum(map(tally.sizes.__getitem__, staying))
        if domain not in scope.unaccounted:
            freed_bytes += size
        elif blobs:
            kept[domain] = [blobs, size]
    notes = [_unaccounted_note(domain, n, b, scope.unaccounted[domain]) for domain, (n, b) in sorted(kept.items())]
    if scope.hard_links:
        freed = {key: stores[key[0]].sizes[key[1]] for key in order
                 if key[0] not in scope.unaccounted and key[1] not in staying_in[key[0]]}
        notes.extend(_without_hard_links(scope, freed))
        freed_bytes = sum(freed.values())
    return freed_bytes, notes


def _reclaimable_in_one_store(registry: Registry, gone_by_repo: Mapping[str, list[Artifact]]) -> tuple[int, list[str]]:
    """reclaimable() where the whole registry is one blob store and most of it goes (a big prune):
    what the deletion uses less what the artifacts that stay use. Reading what stays costs less
    than counting, over every digest of the registry, the repositories using it (_count_shared)."""
    # Each repository's part sized and summed on its own: one dict of a 1M prune's 2.25M digests
    # took three times as long to fill as a hundred dicts of 22k.
    parts = []
    for gone in gone_by_repo.values():
        raise_if_stopped()  # a second or more in all at a million artifacts
        parts.append(_sizes(gone))
    goes = set().union(*parts)  # hashed once more: to find what stays, and a digest two parts free
    stays: set[str] = set()  # of the digests that go, those an artifact that stays uses
    for name, repo in registry.repositories.items():
        raise_if_stopped()
        stays |= goes.intersection(_staying_uses(repo, {a.digest for a in gone_by_repo.get(name, ())}))
    blobs = size = 0
    for part in parts:
        kept = part.keys() & stays
        blobs += len(part) - len(kept)
        size += sum(part.values()) - sum(map(part.__getitem__, kept))
    if blobs != len(goes) - len(stays):  # a freed digest several repositories' parts hold: count it once
        merged: dict[str, int] = {}
        for part in parts:
            merged.update(part)  # the size the last one states, as _StoreTally keeps it
        blobs = len(merged) - len(stays)
        size = sum(merged.values()) - sum(map(merged.__getitem__, stays))
    reason = registry.blob_scope.unaccounted.get("")
    if reason is None:
        return size, []
    return 0, ([_unaccounted_note("", blobs, size, reason)] if blobs else [])


def _staying_uses(repo: Repository, going: AbstractSet[str]) -> set[str]:
    """Every digest the artifacts of `repo` use but those whose digests are `going`."""
    if not going:
        return used_digests(repo)
    return _used_by([a for d, a in repo.artifacts.items() if d not in going])


def _unaccounted_note(domain: str, blobs: int, size: int, reason: str) -> str:
    return f"{blobs} unused blob{'s' if blobs != 1 else ''} ({size} bytes) in {domain} stay, not counted: {reason}"


def _sizes(gone: list[Artifact]) -> dict[str, int]:
    """The manifests and blobs that go, with their sizes (the last one stated stands)."""
    sized: dict[str, int] = {}
    for artifact in gone:
        sized[artifact.digest] = artifact.size
        for blob in artifact.blobs:
            sized[blob.digest] = blob.size
    return sized


class _StoreTally:
    """One blob store's part of a deletion: digests only one repository uses, summed as each
    repository's part comes; digests several use, one by one."""

    __slots__ = ("sizes", "still", "emptied", "alone_blobs", "alone_bytes")

    def __init__(self) -> None:
        self.sizes: dict[str, int] = {}  # manifests and blobs that go -> bytes, as first met
        self.still: set[str] = set()  # used after the deletion by what stays in one of its repositories
        #: repositories of the deletion that use it now and not after, for digests several repositories use
        self.emptied: Counter[str] = Counter()
        self.alone_blobs = 0  # freed, of those no other repository uses (not in `sizes`)
        self.alone_bytes = 0

    def add_repository(self, sized: dict[str, int], still: AbstractSet[str], emptied: Iterable[str],
                       several: set[str]) -> None:
        """One repository's part: `sized` what goes, `still` what it still uses, `emptied` as
        _left_in says; `several` the digests several repositories use."""
        held = sized.keys() & several  # wait for every repository's part
        in_use = (sized.keys() & still) - held  # still used here, by what stays
        self.alone_blobs += len(sized) - len(held) - len(in_use)
        self.alone_bytes += sum(sized.values()) - sum(map(sized.__getitem__, held)) - sum(map(sized.__getitem__, in_use))
        for digest in held:
            self.sizes[digest] = sized[digest]
        self.still.update(several.intersection(still))
        self.emptied.update(emptied)

    def staying(self, outside: Mapping[str, int]) -> set[str]:
        """Of the manifests and blobs that go, those a repository still uses. `outside`: repositories
        using a digest, for digests several repositories use (those of the deletion included)."""
        still, emptied = self.still, self.emptied
        elsewhere = {d for d in self.sizes.keys() & outside.keys() if d not in still and outside[d] > emptied[d]}
        return (self.sizes.keys() & still) | elsewhere


def _tally(stores: dict[str, _StoreTally], domain: str) -> _StoreTally:
    tally = stores.get(domain)
    if tally is None:
        tally = stores[domain] = _StoreTally()
    return tally


def _used_by(artifacts: list[Artifact]) -> set[str]:
    """Every digest `artifacts` use, as used_digests counts a repository's."""
    used = {a.digest for a in artifacts}
    used.update([b.digest for a in artifacts for b in a.blobs])
    used.update([c.digest for a in artifacts if a.children for c in a.children])
    return used


def _removed_uses(gone: list[Artifact]) -> Counter[str]:
    """The uses of each digest that the artifacts `gone` remove, counted as Repository counts them:
    as the manifest, as a config or layer and as an index entry, once per artifact each."""
    removed = Counter([a.digest for a in gone])
    removed.update([d for a in gone for d in {b.digest for b in a.blobs}])
    removed.update([d for a in gone if a.children for d in {c.digest for c in a.children}])
    return removed


def _left_in(repo: Repository, gone: list[Artifact], sized: Mapping[str, int],
             counted: AbstractSet[str]) -> tuple[set[str], Iterable[str]]:
    """Of the digests the artifacts `gone` use, those an artifact of `repo` that stays still uses
    (at least those in `sized` or `counted`: the only ones reclaimable() asks about), and of those
    in `counted`, the ones it uses now and not after. `sized`: _sizes(gone)."""
    if 2 * len(gone) > len(repo.artifacts):  # most of it goes (a prune): what stays is quicker to read
        going = {a.digest for a in gone}
        stays = _staying_uses(repo, going)
        left = sized.keys() & stays
        # What `gone` uses is also its indexes' entries, which only matter for the digests counted
        # (an entry outside `sized` that stays uses is in no other part of the deletion): those are
        # looked up through the indexes listing them, not every entry of every index copied.
        counted_uses = [d for d in counted if d in sized or not going.isdisjoint(repo.parents.get(d, ()))]
        left.update([d for d in counted_uses if d in stays])
        return left, [d for d in counted_uses if d not in stays]
    # Else by counts, in proportion to the deletion: a use is left where the repository counts more.
    removed = _removed_uses(gone)
    arts, blob_users, parents = repo.artifacts, repo.blob_users, repo.parents
    still: set[str] = set()
    emptied: list[str] = []
    for digest, n in removed.items():
        uses = (digest in arts) + blob_users.get(digest, 0) + len(parents.get(digest, ()))
        if uses > n:
            still.add(digest)
        elif uses and digest in counted:
            emptied.append(digest)
    return still, emptied


def _without_hard_links(scope: BlobScope, freed: dict[tuple[str, str], int]) -> list[str]:
    """A blob file with other hard links frees space only when every one of them goes: counted once
    then, else not at all. Changes `freed`; returns a note on what it left out."""
    files: dict[tuple[int, int], list[tuple[str, str]]] = {}
    for key in freed:
        info = scope.hard_links.get(key)
        if info is not None:
            files.setdefault(info[:2], []).append(key)
    if not files:
        return []
    known: dict[tuple[int, int], int] = {}  # hard links ocitree sees, per file
    for device, inode, _ in scope.hard_links.values():
        known[(device, inode)] = known.get((device, inode), 0) + 1
    left_out = left_bytes = 0
    for file, keys in files.items():
        links = scope.hard_links[keys[0]][2]
        for key in keys[1:]:
            freed[key] = 0  # the same file under another name: its bytes count once
        if links > len(keys) or known[file] > len(keys):
            left_out += 1
            left_bytes += freed[keys[0]]
            freed[keys[0]] = 0
    if not left_out:
        return []
    return [f"{left_out} blob file{'s' if left_out != 1 else ''} ({left_bytes} bytes) also hard-linked elsewhere: "
            f"removing {'them' if left_out != 1 else 'it'} frees no space, not counted"]


def _shared_digests(registry: Registry) -> dict[str, dict[str, int]]:
    if registry.shared_digests is None:
        registry.shared_digests = _count_shared(registry)
    return registry.shared_digests


def _count_shared(registry: Registry) -> dict[str, dict[str, int]]:
    scope = registry.blob_scope
    stores: dict[str, int] = {}
    for name in registry.repositories:
        for key in {scope.domain(name, f"{alg}:") for alg in ("sha256", "sha512")}:
            stores[key] = stores.get(key, 0) + 1
    if all(n < 2 for n in stores.values()) and not scope.files:
        return {}  # every repository its own blob store: nothing to count across
    # Set operations, not a count of every digest: at a million artifacts there are millions of
    # digests and only a few are shared.
    seen: dict[str, set[str]] = {}  # blob store -> digests some repository counted so far uses
    again: dict[str, Counter[str]] = {}  # blob store -> digest -> repositories after the first using it
    for name, repo in registry.repositories.items():
        if not scope.domains:  # one store: the repository's own tables, read in place (what used_digests holds)
            before = seen.setdefault("", set())
            uses = (repo.artifacts, repo.blob_users, repo.parents)
            again.setdefault("", Counter()).update(set().union(*(before.intersection(u) for u in uses)))
            before.update(*uses)
            continue
        for domain, used in _by_store(scope, name, used_digests(repo)).items():
            before = seen.setdefault(domain, set())
            again.setdefault(domain, Counter()).update(before & used)
            before |= used
    return {domain: {d: n + 1 for d, n in counts.items()} for domain, counts in again.items()}


def _by_store(scope: BlobScope, repository: str, digests: set[str]) -> dict[str, set[str]]:
    stores: dict[str, set[str]] = {}
    for digest in digests:
        stores.setdefault(scope.domain(repository, digest), set()).add(digest)
    return stores
