"""REF arguments: `repository:tag` or `repository@digest`."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BadInputError
from .names import check_digest, check_repository_name, check_tag


@dataclass(frozen=True, slots=True)
class Reference:
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag}"


def parse_reference(text: str) -> Reference:
    """Parse a REF as typed by a user; a message says how to write it when it is wrong."""
    if "@" in text:
        repository, _, digest = text.partition("@")
        check_repository_name(repository, "repository in reference")
        check_digest(digest, "digest in reference")
        return Reference(repository=repository, digest=digest)
    repository, sep, tag = text.rpartition(":")
    if not sep or "/" in tag:
        raise BadInputError(f"reference {text!r} names no tag or digest: write REPOSITORY:TAG or REPOSITORY@sha256:<hex>")
    check_repository_name(repository, "repository in reference")
    check_tag(tag, "tag in reference")
    return Reference(repository=repository, tag=tag)
