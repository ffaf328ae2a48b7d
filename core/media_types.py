"""Media types ocitree recognises, and what kind of artifact each makes."""

from __future__ import annotations

import functools
from typing import Final, Literal

# What an artifact is (core.model.Artifact.kind), and what an accessory is (Repository.accessory_kinds).
ArtifactKind = Literal["index", "image", "artifact"]
AccessoryKind = Literal["signature", "sbom", "attestation", "accessory", "referrers"]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
COSIGN_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
# Written by the sample data and benchmarks; read only as hints to an accessory's kind.
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
COSIGN_SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"
SPDX = "application/spdx+json"
IN_TOTO = "application/vnd.in-toto+json"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
IMAGE_CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})

# What an accessory is (Repository.kind_of): accessory_kind's answers, and REFERRERS for an OCI 1.1
# fallback referrers index (core.tag_schemes), which is bookkeeping rather than a parent.
SIGNATURE: Final = "signature"
SBOM: Final = "sbom"
ATTESTATION: Final = "attestation"
ACCESSORY: Final = "accessory"
REFERRERS: Final = "referrers"
ACCESSORY_KINDS: frozenset[AccessoryKind] = frozenset({SIGNATURE, SBOM, ATTESTATION, ACCESSORY, REFERRERS})

# Sent as Accept when fetching manifests: without the OCI types distribution answers 404.
ACCEPT_MANIFESTS = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST])


def is_index(media_type: str) -> bool:
    return media_type in INDEX_TYPES


# Pure, and asked once per accessory with the same few hints (11,000 attestations of a layout root:
# a third of building its graphs); bounded, so a source of endless distinct hints costs no memory.
@functools.lru_cache(maxsize=256)
def accessory_kind(artifact_type: str | None, config_media_type: str | None, tag_suffix: str | None = None,
                   layer_media_types: tuple[str, ...] = ()) -> AccessoryKind:
    """signature, sbom, attestation or accessory, from whatever hints an artifact carries. The
    layers' media types count only when the artifact type and config say nothing: ORAS before
    1.0 attached an SBOM with no artifactType, an unknown config type and an SPDX or CycloneDX layer."""
    kind = _kind_from_hints(artifact_type, config_media_type, tag_suffix)
    if kind == ACCESSORY and layer_media_types:
        return _kind_from_hints(" ".join(layer_media_types), None, None)
    return kind


def _kind_from_hints(artifact_type: str | None, config_media_type: str | None, tag_suffix: str | None) -> AccessoryKind:
    hints = " ".join(x for x in (artifact_type, config_media_type) if x).lower()
    if tag_suffix == "sig" or ".sig." in hints or "signature" in hints or "sigstore" in hints or COSIGN_SIMPLESIGNING in hints:
        return SIGNATURE
    if tag_suffix == "sbom" or any(k in hints for k in ("spdx", "cyclonedx", "sbom", "syft")):
        return SBOM
    if tag_suffix == "att" or any(k in hints for k in ("in-toto", "intoto", "attestation", "dsse", "provenance")):
        return ATTESTATION
    return ACCESSORY
