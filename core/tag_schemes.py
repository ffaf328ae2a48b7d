"""Tags that name another artifact rather than a version: the one place that reads them.

Two conventions write a subject's digest into a tag, `:` becoming `-`:

- cosign: `sha256-<64 hex>.sig`, `.att` or `.sbom` (`sha512-<128 hex>.…` alike) tags the
  signature, attestation or SBOM of that subject. Whatever it tags is an accessory.
- the OCI 1.1 referrers tag schema (distribution spec, "Referrers Tag Schema"): a registry
  without the referrers API keeps an image index tagged `sha256-<64 hex>`, with no suffix, that
  lists the subject's referrers. Only an index tagged so is that fallback index; the same tag
  on an image is an ordinary tag, as the spec defines the fallback as an index.

A tag that names a subject is bookkeeping: views leave it out of an artifact's tags (its kind
says what it is) and shorten it where they do show it. The planner still counts it as a tag.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from . import media_types as mt
from .names import SHORT_HEX

_PREFIXES = ("sha256-", "sha512-")
_SUBJECT = r"(sha256|sha512)-([a-f0-9]{64}|[a-f0-9]{128})"
_COSIGN_TAG = re.compile(rf"^{_SUBJECT}\.(sig|att|sbom)\Z")
_FALLBACK_TAG = re.compile(rf"^{_SUBJECT}\Z")
COSIGN_SUFFIXES = {mt.SIGNATURE: "sig", mt.ATTESTATION: "att", mt.SBOM: "sbom"}  # accessory kind -> tag suffix


def fallback_tag(subject: str) -> str:
    """`sha256-<hex>`: the tag of the fallback referrers index of `subject` (a digest)."""
    return subject.replace(":", "-", 1)


def cosign_tag(subject: str, kind: str) -> str:
    """`sha256-<hex>.sig`: cosign's tag for the signature, attestation or sbom of `subject`."""
    return f"{fallback_tag(subject)}.{COSIGN_SUFFIXES[kind]}"


def cosign_subject(tag: str) -> tuple[str, str] | None:
    """(subject digest, `sig`/`att`/`sbom`) of a cosign tag, else None."""
    match = _COSIGN_TAG.match(tag)
    return (f"{match[1]}:{match[2]}", match[3]) if match else None


def fallback_subject(tag: str) -> str | None:
    """The subject digest a referrers fallback tag names (`sha256-<hex>`), else None. Whether
    it makes a fallback index depends on what it tags: see names_subject."""
    match = _FALLBACK_TAG.match(tag)
    return f"{match[1]}:{match[2]}" if match else None


def is_cosign_tag(tag: str) -> bool:
    return _COSIGN_TAG.match(tag) is not None


def is_fallback_tag(tag: str) -> bool:
    """`sha256-<hex>`: the tag of an OCI 1.1 fallback referrers index (when it tags an index)."""
    return _FALLBACK_TAG.match(tag) is not None


def names_subject(tag: str, on_index: bool) -> bool:
    """Whether `tag`, on an index (`on_index`) or not, names a subject (bookkeeping) rather than a version."""
    if not tag.startswith(_PREFIXES):  # most tags: no pattern to match (views ask for every row)
        return False
    return is_cosign_tag(tag) or (on_index and is_fallback_tag(tag))


def plain_tags(tags: Iterable[str], on_index: bool) -> list[str]:
    """`tags` but those naming a subject: the tags views list as an artifact's own."""
    return [t for t in tags if not names_subject(t, on_index)]


def shortened_tag(tag: str) -> str:
    """A tag of either scheme with its digest cut to 12 hex digits (`sha256-0123456789ab….sig`);
    any other tag unchanged, however it starts (shortening it could show two tags alike)."""
    if not tag.startswith(_PREFIXES) or not (is_cosign_tag(tag) or is_fallback_tag(tag)):
        return tag
    stem, dot, suffix = tag.partition(".")
    algorithm, _, hexpart = stem.partition("-")
    return f"{algorithm}-{hexpart[:SHORT_HEX]}…{dot}{suffix}"
