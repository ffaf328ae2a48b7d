"""Manifest bytes from a registry -> core.model.Artifact."""

from __future__ import annotations

from ...manifest import ImageIndex, manifest_media_type, parse_manifest
from ...model import Artifact, BlobRef, ChildRef, PlatformInfo


def artifact_from_manifest(repository: str, digest: str, data: bytes, tags: list[str], where: str) -> Artifact:
    """Parse and convert; raises MalformedDataError naming `where` for anything that is not a manifest.

    The media type comes from the manifest itself, never from the Content-Type header, so an
    artifact read from the cache is exactly the artifact first fetched."""
    manifest = parse_manifest(data, None, where)
    children: tuple[ChildRef, ...] = ()
    blobs: tuple[BlobRef, ...] = ()
    config_media_type = None
    if isinstance(manifest, ImageIndex):
        children = tuple(
            ChildRef(
                digest=c.digest,
                media_type=c.media_type,
                size=c.size,
                platform=PlatformInfo(c.platform.os, c.platform.architecture, c.platform.variant) if c.platform else None,
                annotations=c.annotations,
            )
            for c in manifest.manifests
        )
    else:
        blobs = tuple(BlobRef(d.digest, d.size, d.media_type) for d in (manifest.config, *manifest.layers))
        config_media_type = manifest.config.media_type
    return Artifact(
        repository=repository,
        digest=digest,
        media_type=manifest_media_type(manifest, None),
        size=len(data),
        children=children,
        blobs=blobs,
        subject=manifest.subject.digest if manifest.subject else None,
        artifact_type=manifest.artifact_type,
        config_media_type=config_media_type,
        annotations=manifest.annotations,
        tags=sorted(tags),
    )
