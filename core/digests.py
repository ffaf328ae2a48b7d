"""Content digests (no pydantic here: `ls` of a registry must not import it to hash a manifest)."""

from __future__ import annotations

import hashlib


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def digest_matches(digest: str, data: bytes) -> bool:
    """Whether `data` is the content `digest` names (False for an algorithm other than sha256, sha512)."""
    algorithm, _, hexpart = digest.partition(":")
    if algorithm == "sha256":  # the usual one, without hashlib.new looking its name up
        return hashlib.sha256(data).hexdigest() == hexpart
    return algorithm == "sha512" and hashlib.sha512(data).hexdigest() == hexpart
