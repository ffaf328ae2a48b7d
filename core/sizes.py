"""Sizes as every screen labels them: the manifest's own size, and the total of the content
it references (itself, its children, recursively, and their config and layer blobs), each
digest counted once, since a registry stores a blob once however many manifests use it."""

from __future__ import annotations

from . import media_types as mt
from .model import Repository


def human_bytes(n: int) -> str:
    """`682 B`, `15.1 KiB`, ... `3.0 TiB`: binary units, one decimal above bytes."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def size_label(manifest_bytes: int, total_bytes: int) -> str:
    """Both sizes, labelled the same on every screen: `manifest 682 B, total 15.1 KiB`."""
    return f"manifest {human_bytes(manifest_bytes)}, total {human_bytes(total_bytes)}"


def total_size(repo: Repository, digest: str) -> int:
    """Unique bytes `digest` references, itself included (0 if it is not in `repo`)."""
    artifact = repo.artifacts.get(digest)
    if artifact is None:
        return 0
    if not artifact.children:  # the common case: an image and its blobs
        seen_blobs: set[str] = set()
        total = artifact.size
        for blob in artifact.blobs:
            if blob.digest not in seen_blobs:
                seen_blobs.add(blob.digest)
                total += blob.size
        return total
    total = 0
    seen: set[str] = set()
    stack = [digest]  # iterative: nesting depth is data, not something to recurse on
    while stack:
        d = stack.pop()
        if d in seen:
            continue
        seen.add(d)
        art = repo.artifacts.get(d)
        if art is None:
            continue
        total += art.size
        for blob in art.blobs:
            if blob.digest not in seen:
                seen.add(blob.digest)
                total += blob.size
        stack.extend(c.digest for c in art.children)
    return total


def platform_count(repo: Repository, digest: str) -> tuple[int, int]:
    """(platforms, other entries) an index lists: distinct platforms of its image entries, and
    the entries that are not a platform's image (nested indexes, attestations stored as
    `unknown/unknown` entries, entries without a platform)."""
    artifact = repo.artifacts.get(digest)
    if artifact is None:
        return 0, 0
    platforms: set[str] = set()
    others = 0
    for child in artifact.children:
        nested = repo.artifacts.get(child.digest)
        is_index = nested.is_index if nested is not None else child.media_type in mt.INDEX_TYPES
        p = child.platform
        if is_index or p is None or (p.os == "unknown" and p.architecture == "unknown"):
            others += 1
        else:
            platforms.add(str(p))
    return len(platforms), others


def lists_text(repo: Repository, digest: str) -> str:
    """`2 platforms`, `2 platforms, 2 entries`, `2 entries`."""
    platforms, others = platform_count(repo, digest)
    parts = []
    if platforms or not others:
        parts.append(f"{platforms} platform{'s' if platforms != 1 else ''}")
    if others:
        parts.append(f"{others} entr{'ies' if others != 1 else 'y'}")
    return ", ".join(parts)
