"""Manifest bytes from a registry -> core.model.Artifact, and the compact record the cache keeps."""

from __future__ import annotations

import json

from ...manifest_fast import artifact_from_bytes
from ...model import Artifact, BlobRef, ChildRef, PlatformInfo


def artifact_from_manifest(repository: str, digest: str, data: bytes, tags: list[str], where: str) -> Artifact:
    """Parse and convert; raises MalformedDataError naming `where` for anything that is not a manifest.

    The media type comes from the manifest itself, never from the Content-Type header, so an
    artifact read from the cache is exactly the artifact first fetched."""
    return artifact_from_bytes(repository, digest, data, None, sorted(tags), lambda: where)


# The cache keeps, next to each manifest's bytes, this compact record of the artifact parsed from
# them: rebuilding an artifact from it is 3 to 4 times faster than parsing, which is most of a warm
# load's own work. The record is a pure function of the bytes, so it is as valid as they are.
# Change RECORD_VERSION whenever the record's shape or the parsing changes: the cache then starts over.
RECORD_VERSION = 1


def artifact_record(artifact: Artifact) -> str:
    children = [[c.digest, c.media_type, c.size,
                 [c.platform.os, c.platform.architecture, c.platform.variant] if c.platform else None,
                 c.annotations] for c in artifact.children]
    blobs = [[b.digest, b.size, b.media_type] for b in artifact.blobs]
    return json.dumps([artifact.media_type, children, blobs, artifact.subject, artifact.artifact_type,
                       artifact.config_media_type, artifact.annotations], separators=(",", ":"))


def artifact_from_record(repository: str, digest: str, size: int, record: str) -> Artifact:
    """Raises ValueError (or TypeError) for a record that is not what artifact_record writes."""
    media_type, children, blobs, subject, artifact_type, config_media_type, annotations = json.loads(record)
    return Artifact(
        repository=repository,
        digest=digest,
        media_type=media_type,
        size=size,
        children=tuple(ChildRef(d, m, s, PlatformInfo(*p) if p else None, a) for d, m, s, p, a in children),
        blobs=tuple(BlobRef(d, s, m) for d, s, m in blobs),
        subject=subject,
        artifact_type=artifact_type,
        config_media_type=config_media_type,
        annotations=annotations,
        tags=[],
    )
