"""Changing an OCI image layout: a new index.json written atomically, then unused blobs removed.

The order keeps the layout valid at every instant: index.json stops listing a manifest
before any blob goes, so a crash leaves at worst unreferenced blobs, never a tag that
points at nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..durable_files import fsync_directory
from ..model import Repository


def blob_candidates(repository: Repository, deleted: set[str], keep_blobs: bool) -> set[str]:
    """The deleted manifests and (unless keep_blobs) their configs and layers."""
    candidates = set(deleted)
    if not keep_blobs:
        for digest in deleted:
            candidates.update(b.digest for b in repository.artifacts[digest].blobs)
    return candidates


def digests_in_use(repository: Repository, deleted: set[str]) -> set[str]:
    """What the layout's remaining manifests use: as a manifest, an index entry, a config or a layer."""
    in_use: set[str] = set()
    for digest, artifact in repository.artifacts.items():
        if digest in deleted:
            continue
        in_use.add(digest)
        in_use.update(c.digest for c in artifact.children)
        in_use.update(b.digest for b in artifact.blobs)
    return in_use



def index_without(doc: dict, deleted: set[str]) -> dict:
    """index.json with every entry of a deleted digest gone; all else (order, unknown fields) kept."""
    out = dict(doc)
    out["manifests"] = [e for e in doc["manifests"] if e.get("digest") not in deleted]
    return out


def index_replacing(doc: dict, replaced: dict[str, tuple[str, int]]) -> dict:
    """index.json with entries of digest `old` pointing at `replaced[old]` (digest, size), all else kept."""
    out = dict(doc)
    out["manifests"] = [
        {**e, "digest": replaced[e["digest"]][0], "size": replaced[e["digest"]][1]} if e.get("digest") in replaced else e
        for e in doc["manifests"]
    ]
    return out


def serialize_index(doc: dict, original: bytes) -> bytes:
    """Indented if the original was (a hand-kept file stays readable), compact like skopeo otherwise."""
    if b"\n" in original.strip():
        return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()




def remove_blob_files(paths: Iterable[Path]) -> list[str]:
    """Remove files; returns one message per file that could not be removed."""
    failures: list[str] = []
    directories: set[Path] = set()
    for path in paths:
        try:
            path.unlink()
            directories.add(path.parent)
        except FileNotFoundError:
            pass
        except OSError as exc:
            failures.append(f"{path}: {exc.strerror}")
    for directory in directories:
        try:
            fsync_directory(directory)
        except OSError:
            pass  # the unlinks happened; only their durability on a crash is in doubt
    return failures
