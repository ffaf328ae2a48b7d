"""What a sample file's entries mean, without pydantic: the keys each object may have and the
conversion of an entry's checked fields to the model.

Both readers use it: the pydantic models of sample_format.py (the reference, which words any error)
and the fast reader of sample_fast.py, which checks the same fields by hand. It is apart from the
models so that loading a well-formed file never imports pydantic (0.085 s of the TUI's start);
tests/unit/test_sample_loading.py checks that the key sets are the models' aliases.
"""

from __future__ import annotations

from .. import media_types as mt
from ..model import Artifact, BlobRef, ChildRef, PlatformInfo

FORMAT = "ocitree-sample/1"

# The JSON keys of each object (the models' aliases; the models also take a field's Python name,
# which the fast reader leaves to them). Any other key is a doubt to the fast reader; a required key
# missing reads as None there, which none of its checks passes (tests/unit/test_sample_loading.py
# deletes each one).
ENTRY_KEYS = frozenset({"digest", "tags", "mediaType", "size", "artifactType", "annotations", "config",
                        "layers", "manifests", "subject", "created"})  # SampleArtifact
BLOB_KEYS = frozenset({"digest", "size", "mediaType"})  # SampleBlob
CHILD_KEYS = frozenset({"digest", "size", "mediaType", "platform", "annotations"})  # SampleChild
PLATFORM_KEYS = frozenset({"architecture", "os", "os.version", "variant"})  # manifest.Platform
TOP_KEYS = frozenset({"format", "protect", "repositories"})  # SampleFile
TOP_REQUIRED = frozenset({"repositories"})  # SampleFile's required fields


def child_ref(digest: str, media_type: str | None, size: int, platform: PlatformInfo | None,
              annotations: dict[str, str] | None) -> ChildRef:
    """An entry of `manifests`; without a mediaType (or with an empty one) it is an OCI image manifest."""
    return ChildRef(digest, media_type or mt.OCI_MANIFEST, size, platform, annotations)


def entry_artifact(repository: str, digest: str, media_type: str | None, size: int,
                   children: tuple[ChildRef, ...] | None, config: BlobRef | None, layers: tuple[BlobRef, ...],
                   subject: str | None, artifact_type: str | None, annotations: dict[str, str] | None,
                   tags: list[str], created: float | None) -> Artifact:
    """The Artifact of one checked entry. `children` is None when the entry has no `manifests` (an
    empty list still makes an index); without a mediaType the entry is an OCI index or image
    manifest by that, and a config without one is an OCI image config."""
    return Artifact(
        repository,
        digest,
        media_type or (mt.OCI_MANIFEST if children is None else mt.OCI_INDEX),
        size,
        children or (),
        layers if config is None else (config, *layers),
        subject,
        artifact_type,
        None if config is None else config.media_type or mt.OCI_CONFIG,
        annotations,
        tags,
        created,
    )
