"""Digest, repository-name and tag grammar from the OCI distribution spec."""

from __future__ import annotations

import re
from typing import TypeGuard

from .errors import BadInputError

_DIGEST_RES = {
    "sha256": re.compile(r"^sha256:[a-f0-9]{64}\Z"),
    "sha512": re.compile(r"^sha512:[a-f0-9]{128}\Z"),
}
# OCI distribution spec: path components separated by "/".
_REPOSITORY_RE = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*\Z")
_TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}\Z")


def is_digest(value: object) -> TypeGuard[str]:
    if not isinstance(value, str):
        return False
    algorithm, _, _ = value.partition(":")
    pattern = _DIGEST_RES.get(algorithm)
    return bool(pattern and pattern.match(value))


def check_digest(value: object, field: str = "digest") -> str:
    if not is_digest(value):
        raise BadInputError(
            f"invalid {field} {value!r}: expected 'sha256:' and 64 lowercase hex digits (or 'sha512:' and 128)"
        )
    return value


def is_repository_name(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) <= 255 and bool(_REPOSITORY_RE.match(value))


def check_repository_name(value: object, field: str = "repository") -> str:
    if not is_repository_name(value):
        raise BadInputError(
            f"invalid {field} {value!r}: lowercase letters, digits and separators (. _ __ -), components joined by '/'"
        )
    return value


def is_tag(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(_TAG_RE.match(value))


def check_tag(value: object, field: str = "tag") -> str:
    if not is_tag(value):
        raise BadInputError(f"invalid {field} {value!r}: letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-'")
    return value


SHORT_HEX = 12  # hex digits a short digest keeps: enough to be unique in any real registry


def short_digest(digest: str, hex_chars: int = SHORT_HEX) -> str:
    """`sha256:0123456789ab` style shortening used in every display."""
    algorithm, _, hexpart = digest.partition(":")
    return f"{algorithm}:{hexpart[:hex_chars]}"


def short_hex(digest: str) -> str:
    """`0123456789ab`: a short digest without its algorithm, for rows where space is short."""
    return digest.partition(":")[2][:SHORT_HEX] or digest[:SHORT_HEX]
