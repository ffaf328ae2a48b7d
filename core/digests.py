"""Content digests (no pydantic here: `ls` of a registry must not import it to hash a manifest)."""

from __future__ import annotations

import hashlib


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
