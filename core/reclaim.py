"""What a deletion frees: blobs that no remaining artifact of the same blob store uses.

A blob store is the whole registry for a live registry (distribution keeps each blob once and
its garbage collector keeps every blob any manifest of any repository uses: the manifest
itself, an index's entries, a config, a layer) and one blob directory for OCI layouts (shared
by every layout whose `blobs/<algorithm>` resolves to it). Pure: reads the model only.

Cost is proportional to the deletion, after one pass over the registry (on the first plan,
and only where a blob store has several repositories) that counts the digests several
repositories use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .blob_scope import BlobScope
from .model import Registry, Repository, used_digests


def reclaimable(registry: Registry, chosen: Mapping[str, Iterable[str]]) -> tuple[int, list[str]]:
    """Bytes freed once the artifacts `chosen` (repository -> digests) are gone, and notes on
    blobs it leaves out because their store has users ocitree cannot see."""
    scope = registry.blob_scope
    domain_of = scope.domain if scope.domains else _one_store
    repos = {name: registry.repositories[name] for name in chosen}
    removed: dict[str, dict[str, int]] = {}  # repository -> digest -> uses the deletion removes
    sizes: dict[tuple[str, str], int] = {}  # (blob store, digest) -> bytes
    touching: dict[str, list[str]] = {}  # digest -> the repositories of this deletion that remove a use of it
    for name, digests in chosen.items():
        repo = repos[name]
        uses = removed.setdefault(name, {})
        for digest in digests:
            artifact = repo.artifacts[digest]
            uses[digest] = uses.get(digest, 0) + 1
            sizes[(domain_of(name, digest), digest)] = artifact.size
            for blob in {b.digest: b for b in artifact.blobs}.values():
                uses[blob.digest] = uses.get(blob.digest, 0) + 1
                sizes[(domain_of(name, blob.digest), blob.digest)] = blob.size
            for child in {c.digest for c in artifact.children}:
                uses[child] = uses.get(child, 0) + 1
        for digest in uses:
            touching.setdefault(digest, []).append(name)
    shared = _shared_digests(registry)
    nothing: dict[str, int] = {}
    freed: dict[tuple[str, str], int] = {}
    kept: dict[str, list[int]] = {}  # unaccounted blob store -> [blobs, bytes]
    for (domain, digest), size in sizes.items():
        users_here = 0  # repositories of this deletion that use the digest now
        # Only those that remove a use of it need a look: one of the deletion's repositories that uses
        # it without removing a use is a user outside the deletion, which `shared` counts. (Looking at
        # every repository of the deletion made a registry-wide prune quadratic.)
        for name in touching.get(digest, ()):
            if domain_of(name, digest) != domain:
                continue
            repo = repos[name]
            before = _uses(repo, digest)
            if before:
                users_here += 1
                if before > removed[name].get(digest, 0):
                    break  # a remaining artifact of this repository uses it
        else:
            if shared.get(domain, nothing).get(digest, users_here) > users_here:
                continue  # a repository outside this deletion uses it
            if domain in scope.unaccounted:
                k = kept.setdefault(domain, [0, 0])
                k[0] += 1
                k[1] += size
                continue
            freed[(domain, digest)] = size
    notes = [f"{n} unused blob{'s' if n != 1 else ''} ({b} bytes) in {domain} stay, not counted: {scope.unaccounted[domain]}"
             for domain, (n, b) in sorted(kept.items())]
    if scope.hard_links:
        notes.extend(_without_hard_links(scope, freed))
    return sum(freed.values()), notes


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


def _one_store(repository: str, digest: str) -> str:
    return ""


def _uses(repo: Repository, digest: str) -> int:
    """Counted as `reclaimable` counts removed uses: as the manifest, as a config or layer, as an index entry."""
    return (digest in repo.artifacts) + repo.blob_users.get(digest, 0) + len(repo.parents.get(digest, ()))


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
    counts: dict[str, dict[str, int]] = {}
    for name, repo in registry.repositories.items():
        for digest in used_digests(repo):
            of_store = counts.setdefault(scope.domain(name, digest), {})
            of_store[digest] = of_store.get(digest, 0) + 1
    return {key: {d: n for d, n in of_store.items() if n > 1} for key, of_store in counts.items()}
