"""Changing an OCI image layout: a new index.json written atomically, then unused blobs removed.

The order keeps the layout valid at every instant: index.json stops listing a manifest
before any blob goes, so a crash leaves at worst unreferenced blobs, never a tag that
points at nothing. Those blobs are written down first (write-ahead) in the layout's
`ocitree-pending-blobs.json`, so the next delete in that layout, by the same command or any
other, removes what a killed run left, after checking again that nothing uses them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from ..durable_files import discard, fsync_directory, write_atomically
from ..json_text import dump_json
from ..model import Repository
from ..names import is_digest
from .layout_reader import blob_path

PENDING_FILE = "ocitree-pending-blobs.json"


def blobs_to_remove(repository: Repository, deleted: set[str], keep_blobs: bool, pending: Iterable[str] = ()) -> list[str]:
    """The deleted manifests, and (unless keep_blobs) their configs and layers, that nothing
    remaining in the layout uses: not as a manifest, an index entry, a config or a layer.
    `pending`: blobs an earlier run set out to remove, checked the same way."""
    candidates = set(deleted) | set(pending)
    if not keep_blobs:
        for digest in deleted:
            candidates.update(b.digest for b in repository.artifacts[digest].blobs)
    in_use: set[str] = set()
    for digest, artifact in repository.artifacts.items():
        if digest in deleted:
            continue
        in_use.add(digest)
        in_use.update(c.digest for c in artifact.children)
        in_use.update(b.digest for b in artifact.blobs)
    return sorted(candidates - in_use)


def index_without(doc: dict, deleted: set[str]) -> dict:
    """index.json with every entry of a deleted digest gone; all else (order, unknown fields) kept."""
    out = dict(doc)
    out["manifests"] = [e for e in doc["manifests"] if e.get("digest") not in deleted]
    return out


def serialize_index(doc: dict, original: bytes) -> bytes:
    """Indented if the original was (a hand-kept file stays readable), compact like skopeo otherwise.
    Raises NestedTooDeeply for a document json cannot write back."""
    if b"\n" in original.strip():
        return dump_json(doc, indent=2) + b"\n"
    return dump_json(doc, separators=(",", ":"))


def unwritable_blob_directory(layout: Path, digests: Iterable[str]) -> Path | None:
    """A blobs/<alg> directory we would need to remove from but cannot: checked before any change."""
    for directory in {blob_path(layout, d).parent for d in digests}:
        if directory.is_dir() and not os.access(directory, os.W_OK | os.X_OK):
            return directory
    return None


def remove_blobs(layout: Path, digests: Iterable[str]) -> list[str]:
    """Remove blob files; returns one message per blob that could not be removed."""
    failures: list[str] = []
    directories: set[Path] = set()
    for digest in digests:
        path = blob_path(layout, digest)
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


def read_pending(layout: Path) -> list[str]:
    """Blobs a run set out to remove and may not have (it was killed); [] when none."""
    try:
        doc = json.loads((layout / PENDING_FILE).read_bytes())
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        return []  # unreadable: the blobs stay, shown by `ocitree ls` as leftovers
    blobs = doc.get("blobs") if isinstance(doc, dict) else None
    return [d for d in blobs if is_digest(d)] if isinstance(blobs, list) else []


def write_pending(layout: Path, digests: Iterable[str]) -> None:
    """Record (durably) the blobs about to be removed, or forget the record when there are none.
    Raises OSError."""
    digests = sorted(set(digests))
    path = layout / PENDING_FILE
    if digests:
        write_atomically(path, (json.dumps({"version": 1, "blobs": digests}, indent=1) + "\n").encode())
    elif path.exists():
        discard(path)
        fsync_directory(layout)
