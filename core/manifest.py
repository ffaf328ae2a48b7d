"""Pydantic models of OCI and Docker manifests, and parsing raw bytes into them.

Invalid input is rejected with a message naming the field and the value.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import ErrorDetails

from . import media_types as mt
from .digests import digest_of  # noqa: F401 (its home was here)
from .errors import BadInputError, MalformedDataError
from .json_text import NestedTooDeeply, load_json
from .model import Artifact, BlobRef, ChildRef, PlatformInfo
from .names import check_digest


# Checked by pydantic-core's own regex engine: a Python validator per digest cost a
# second on a 100k-artifact file. validation_message() words its failure like check_digest.
DIGEST_PATTERN = r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$"
Digest = Annotated[str, StringConstraints(pattern=DIGEST_PATTERN)]


def validation_message(err: ErrorDetails) -> str:
    """One pydantic error as a user-facing sentence (without its place)."""
    if err.get("type") == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == DIGEST_PATTERN:
        try:
            check_digest(err.get("input"))
        except BadInputError as exc:
            return str(exc)
    return err["msg"].removeprefix("Value error, ")


class Platform(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)

    architecture: str
    os: str
    os_version: str | None = Field(default=None, alias="os.version")
    variant: str | None = None

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


class Descriptor(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    media_type: str = Field(alias="mediaType")
    digest: Digest
    size: int = Field(ge=0)
    platform: Platform | None = None
    annotations: dict[str, str] | None = None
    artifact_type: str | None = Field(default=None, alias="artifactType")


class ImageManifest(BaseModel):
    """OCI image manifest or Docker v2 schema 2 manifest (same shape)."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    schema_version: int = Field(alias="schemaVersion")
    media_type: str | None = Field(default=None, alias="mediaType")
    artifact_type: str | None = Field(default=None, alias="artifactType")
    config: Descriptor
    layers: list[Descriptor] = Field(default_factory=list)
    subject: Descriptor | None = None
    annotations: dict[str, str] | None = None


class ImageIndex(BaseModel):
    """OCI image index or Docker manifest list."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    schema_version: int = Field(alias="schemaVersion")
    media_type: str | None = Field(default=None, alias="mediaType")
    artifact_type: str | None = Field(default=None, alias="artifactType")
    manifests: list[Descriptor]
    subject: Descriptor | None = None
    annotations: dict[str, str] | None = None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    value = err.get("input")
    shown = json.dumps(value)[:80] if not isinstance(value, (dict, list)) else type(value).__name__
    return f"field {where} = {shown}: {validation_message(err)}"


def parse_manifest(data: bytes, media_type: str | None, where: str) -> ImageManifest | ImageIndex:
    """Parse manifest bytes; `where` names it in errors (repository@digest or a file path)."""
    try:
        doc: Any = load_json(data)
    except NestedTooDeeply:
        raise MalformedDataError(f"{where}: manifest JSON nested too deeply to be a manifest") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedDataError(f"{where}: manifest is not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise MalformedDataError(f"{where}: manifest is a JSON {type(doc).__name__}, expected an object")
    declared = doc.get("mediaType") or media_type
    if not isinstance(declared, str):
        declared = media_type  # a mediaType that is no string: the model's validation words it
    is_index = declared in mt.INDEX_TYPES or (declared is None and "manifests" in doc)
    model = ImageIndex if is_index else ImageManifest
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise MalformedDataError(f"{where}: {_first_error(exc)}") from None


def manifest_media_type(manifest: ImageManifest | ImageIndex, declared: str | None) -> str:
    if manifest.media_type:
        return manifest.media_type
    if declared:
        return declared
    return mt.OCI_INDEX if isinstance(manifest, ImageIndex) else mt.OCI_MANIFEST


def artifact_from_parsed(
    repository: str, digest: str, manifest: ImageManifest | ImageIndex, media_type: str, size: int, tags: list[str]
) -> Artifact:
    """The model's view of a parsed manifest (every store that reads real manifests uses this)."""
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
        media_type=media_type,
        size=size,
        children=children,
        blobs=blobs,
        subject=manifest.subject.digest if manifest.subject else None,
        artifact_type=manifest.artifact_type,
        config_media_type=config_media_type,
        annotations=manifest.annotations,
        tags=tags,
    )
