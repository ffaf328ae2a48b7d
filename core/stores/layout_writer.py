"""Changing an OCI image layout: a new index.json written atomically, then unused blobs removed.

The order keeps the layout valid at every instant: index.json stops listing a manifest
before any blob goes, so a crash leaves at worst unreferenced blobs, never a tag that
points at nothing. Those blobs are written down first (write-ahead) in the layout's
`ocitree-pending-blobs.json`, so the next delete in that layout, by the same command or any
other, removes what a killed run left, after checking again that nothing uses them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..durable_files import discard, fsync_directory, write_atomically
from ..json_text import dump_json
from ..model import Repository
from ..names import is_digest
from .layout_reader import REF_NAME

PENDING_FILE = "ocitree-pending-blobs.json"


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


def index_without(doc: dict[str, Any], deleted: set[str]) -> dict[str, Any]:
    """index.json with every entry of a deleted digest gone; all else (order, unknown fields) kept."""
    out = dict(doc)
    out["manifests"] = [e for e in doc["manifests"] if e.get("digest") not in deleted]
    return out


def index_replacing(doc: dict[str, Any], replaced: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """index.json with entries of digest `old` pointing at `replaced[old]` (digest, size), all else kept."""
    out = dict(doc)
    out["manifests"] = [
        {**e, "digest": replaced[e["digest"]][0], "size": replaced[e["digest"]][1]} if e.get("digest") in replaced else e
        for e in doc["manifests"]
    ]
    return out


def index_untagging(doc: dict[str, Any], removed: set[str], reached: set[str]) -> dict[str, Any]:
    """index.json without the entries naming a tag in `removed`. A manifest left with no entry that
    no index in the layout lists (`reached`) keeps one entry without its name: a layout holds only
    what index.json leads to, and untagging must not delete. All else (order, other fields) kept."""
    out = dict(doc)
    listed = {e.get("digest") for e in doc["manifests"] if _ref_name(e) not in removed}
    manifests = []
    for entry in doc["manifests"]:
        if _ref_name(entry) not in removed:
            manifests.append(entry)
            continue
        digest = entry.get("digest")
        if digest in listed or digest in reached:
            continue
        annotations = {k: v for k, v in entry["annotations"].items() if k != REF_NAME}
        unnamed = {k: v for k, v in entry.items() if k != "annotations"}
        if annotations:
            unnamed["annotations"] = annotations
        manifests.append(unnamed)
        listed.add(digest)
    out["manifests"] = manifests
    return out


def _ref_name(entry: dict[str, Any]) -> str | None:
    annotations = entry.get("annotations")
    name = annotations.get(REF_NAME) if isinstance(annotations, dict) else None
    return name if isinstance(name, str) else None


def serialize_index(doc: dict[str, Any], original: bytes) -> bytes:
    """Indented if the original was (a hand-kept file stays readable), compact like skopeo otherwise.
    Raises NestedTooDeeply for a document json cannot write back."""
    if b"\n" in original.strip():
        return dump_json(doc, indent=2) + b"\n"
    return dump_json(doc, separators=(",", ":"))




def remove_blobs(paths: Iterable[Path]) -> list[str]:
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
