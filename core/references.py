"""REF arguments: `repository:tag` or `repository@digest`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BadInputError
from .names import check_digest, check_repository_name, check_tag, is_digest

MIN_PREFIX_HEX = 8  # the screens show 12; fewer than 8 would often be ambiguous
_PREFIX_RE = re.compile(r"^(sha256|sha512):[a-f0-9]*\Z")


@dataclass(frozen=True, slots=True)
class Reference:
    repository: str
    tag: str | None = None
    digest: str | None = None  # a full digest, or a prefix of one (`is_prefix`)

    @property
    def is_prefix(self) -> bool:
        return self.digest is not None and not is_digest(self.digest)

    def __str__(self) -> str:
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag}"


def parse_reference(text: str) -> Reference:
    """Parse a REF as typed by a user; a message says how to write it when it is wrong."""
    if "@" in text:
        repository, _, digest = text.partition("@")
        check_repository_name(repository, "repository in reference")
        if _PREFIX_RE.match(digest) and not is_digest(digest):
            hexpart = digest.partition(":")[2]
            full = 64 if digest.startswith("sha256:") else 128
            if not MIN_PREFIX_HEX <= len(hexpart) < full:
                raise BadInputError(
                    f"digest {digest!r} in reference {text!r} is too short: give at least {MIN_PREFIX_HEX} hex digits"
                    " (a unique prefix) or the whole digest"
                )
        else:
            try:
                check_digest(digest, "digest in reference")
            except BadInputError as exc:
                raise BadInputError(f"{exc}, or a unique prefix of at least {MIN_PREFIX_HEX} hex digits") from None
        return Reference(repository=repository, digest=digest)
    repository, sep, tag = text.rpartition(":")
    if not sep or "/" in tag:
        raise BadInputError(f"reference {text!r} names no tag or digest: write REPOSITORY:TAG or REPOSITORY@sha256:<hex>")
    check_repository_name(repository, "repository in reference")
    check_tag(tag, "tag in reference")
    return Reference(repository=repository, tag=tag)
