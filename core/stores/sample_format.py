"""The sample file format: ocitree's own JSON, for demos and tests, easy to write by hand.

    {
      "format": "ocitree-sample/1",
      "protect": ["v*"],                        // optional protection rules
      "repositories": {
        "library/app": [
          {"digest": "sha256:…", "tags": ["latest"],
           "mediaType": "application/vnd.oci.image.index.v1+json",   // optional: inferred
           "size": 1234,
           "manifests": [{"digest": "sha256:…", "size": 500,
                          "platform": {"os": "linux", "architecture": "amd64"}}]},
          {"digest": "sha256:…", "size": 500,
           "config": {"digest": "sha256:…", "size": 1469},
           "layers": [{"digest": "sha256:…", "size": 3000000}],
           "created": "2026-01-31T12:00:00Z"},                      // optional, RFC 3339
          {"digest": "sha256:…", "subject": "sha256:…", "artifactType": "application/spdx+json"}
        ]
      }
    }
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from ..dates import parse_created
from ..manifest import Digest, Platform
from ..model import Artifact, BlobRef, ChildRef, PlatformInfo
from ..names import check_repository_name, check_tag
from .sample_entries import FORMAT, child_ref, entry_artifact


def _tag(value: str) -> str:
    try:
        check_tag(value)
    except Exception as exc:  # pydantic turns ValueError into an error with its place
        raise ValueError(str(exc)) from None
    return value


Tag = Annotated[str, AfterValidator(_tag)]


class SampleBlob(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    digest: Digest
    size: int = Field(default=0, ge=0)
    media_type: str = Field(default="", alias="mediaType")


class SampleChild(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    digest: Digest
    size: int = Field(default=0, ge=0)
    media_type: str | None = Field(default=None, alias="mediaType")
    platform: Platform | None = None
    annotations: dict[str, str] | None = None


class SampleArtifact(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    digest: Digest
    tags: list[Tag] = Field(default_factory=list)
    media_type: str | None = Field(default=None, alias="mediaType")
    size: int = Field(default=0, ge=0)
    artifact_type: str | None = Field(default=None, alias="artifactType")
    annotations: dict[str, str] | None = None
    config: SampleBlob | None = None
    layers: list[SampleBlob] = Field(default_factory=list)
    manifests: list[SampleChild] | None = None
    subject: Digest | None = None
    created: str | None = None  # RFC 3339; when the image or index was built (core.dates)

    @field_validator("created")
    @classmethod
    def _rfc3339(cls, value: str | None) -> str | None:
        if value is not None and parse_created(value) is None:
            raise ValueError("not an RFC 3339 date and time (write 2026-01-31T12:00:00Z)")
        return value

    @field_validator("subject", mode="before")
    @classmethod
    def _subject_descriptor(cls, value: object) -> object:
        # Accept a full descriptor as well as a bare digest.
        return value.get("digest") if isinstance(value, dict) else value

    def to_artifact(self, repository: str) -> Artifact:
        """The Artifact this validated entry describes (the reference reading)."""
        children: tuple[ChildRef, ...] | None = None
        if self.manifests is not None:
            children = tuple(
                child_ref(c.digest, c.media_type, c.size,
                          PlatformInfo(c.platform.os, c.platform.architecture, c.platform.variant) if c.platform else None,
                          c.annotations)
                for c in self.manifests
            )
        return entry_artifact(
            repository, self.digest, self.media_type, self.size, children,
            BlobRef(self.config.digest, self.config.size, self.config.media_type) if self.config else None,
            tuple(BlobRef(b.digest, b.size, b.media_type) for b in self.layers),
            self.subject, self.artifact_type, self.annotations, list(self.tags), parse_created(self.created),
        )


class SampleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: str = FORMAT
    protect: list[str] = Field(default_factory=list)
    repositories: dict[str, list[SampleArtifact]]

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value != FORMAT:
            raise ValueError(f"unknown format, expected {FORMAT!r}")
        return value

    @field_validator("repositories")
    @classmethod
    def _names(cls, value: dict[str, list[SampleArtifact]]) -> dict[str, list[SampleArtifact]]:
        for name in value:
            try:
                check_repository_name(name)
            except Exception as exc:
                raise ValueError(str(exc)) from None
        return value
