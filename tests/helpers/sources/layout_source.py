"""SOURCE as a directory of OCI image layouts, one per repository (zot's disk format),
plus the helpers tests use to look at a layout on disk."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

REF_NAME = "org.opencontainers.image.ref.name"


def make_source(builder, tmp_path, request) -> str:
    return str(builder.write_layouts(tmp_path / "layouts"))


def index_entries(layout: Path) -> list[dict]:
    return json.loads((layout / "index.json").read_text())["manifests"]


def index_tags(layout: Path) -> dict[str, str]:
    """tag -> digest, as index.json says."""
    return {e["annotations"][REF_NAME]: e["digest"] for e in index_entries(layout) if REF_NAME in e.get("annotations", {})}


def blob_file(layout: Path, digest: str) -> Path:
    algorithm, _, hexpart = digest.partition(":")
    return layout / "blobs" / algorithm / hexpart


def has_blob(layout: Path, digest: str) -> bool:
    return blob_file(layout, digest).is_file()


def write_blob(layout: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = blob_file(layout, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def write_index(layout: Path, entries: list[dict]) -> None:
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    doc = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}
    (layout / "index.json").write_text(json.dumps(doc, indent=2))


def snapshot(root: Path, ignore: tuple[str, ...] = ("index.json.lock",)) -> dict[str, bytes]:
    """Every file below `root` with its bytes (lock files aside): equal snapshots, nothing changed."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in ignore
    }
