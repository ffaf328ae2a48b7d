"""Well-formed manifests turned into Artifacts without pydantic.

Validating every manifest with pydantic was a third of `ocitree ls` on 25,000 manifests, and
importing pydantic alone 0.3 s of a short run. This checks the exact shape of
core.manifest's models in plain Python and accepts only a subset of what they accept: any
document it is not sure about (a missing or mistyped field, an integer written as a string,
a field given by its Python name, a bad digest ...) returns None, and the caller runs the
pydantic path, which gives the same result or the same error as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

from . import media_types as mt
from .json_text import load_json_checked_later
from .model import Artifact, BlobRef, ChildRef, PlatformInfo

# The same language as core.manifest.DIGEST_PATTERN (pydantic-core's `$` is end of text).
_digest = re.compile(r"(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})\Z").match
# Fields pydantic also takes by their Python name (populate_by_name): such a document goes the slow way.
_MODEL_NAMES = ("schema_version", "media_type", "artifact_type")
_DESCRIPTOR_NAMES = ("media_type", "artifact_type")


def _is_str_or_none(value: object) -> bool:
    return value is None or type(value) is str


def _annotations_ok(value: object) -> bool:
    if value is None:
        return True
    if type(value) is not dict:
        return False
    for k, v in value.items():
        if type(k) is not str or type(v) is not str:
            return False
    return True


def _platform_ok(value: object) -> bool:
    if value is None:
        return True
    return (
        type(value) is dict
        and type(value.get("architecture")) is str
        and type(value.get("os")) is str
        and _is_str_or_none(value.get("os.version"))
        and _is_str_or_none(value.get("variant"))
        and "os_version" not in value
    )


def descriptor_ok(d: object) -> bool:
    """True when core.manifest.Descriptor would accept `d` and read it as written."""
    if type(d) is not dict:
        return False
    digest = d.get("digest")
    size = d.get("size")
    if not (type(d.get("mediaType")) is str and type(digest) is str and _digest(digest) is not None
            and type(size) is int and size >= 0):
        return False
    if len(d) == 3:  # those three and nothing else: most configs and layers, checked
        return True
    return (
        _platform_ok(d.get("platform"))
        and _annotations_ok(d.get("annotations"))
        and _is_str_or_none(d.get("artifactType"))
        and "media_type" not in d  # _DESCRIPTOR_NAMES, spelled out: this runs 80,000 times a listing
        and "artifact_type" not in d
    )


def _descriptors_ok(value: object) -> bool:
    if type(value) is not list:
        return False
    for d in value:
        if not descriptor_ok(d):
            return False
    return True


def is_plain_index(doc: object, declared: str | None) -> bool | None:
    """True: a well-formed image index; False: a well-formed image manifest; None: not sure
    (the pydantic path decides, with its error). `declared` is the media type a descriptor gave."""
    if type(doc) is not dict:
        return None
    media_type = doc.get("mediaType")
    schema_version = doc.get("schemaVersion")
    if (
        not _is_str_or_none(media_type)
        or type(schema_version) is not int
        or not _is_str_or_none(doc.get("artifactType"))
        or not _annotations_ok(doc.get("annotations"))
        or "schema_version" in doc  # _MODEL_NAMES, spelled out
        or "media_type" in doc
        or "artifact_type" in doc
    ):
        return None
    subject = doc.get("subject")
    if subject is not None and not descriptor_ok(subject):
        return None
    kind = media_type or declared
    if kind in mt.INDEX_TYPES or (kind is None and "manifests" in doc):
        return True if _descriptors_ok(doc.get("manifests")) else None
    if not descriptor_ok(doc.get("config")):
        return None
    if "layers" in doc and not _descriptors_ok(doc["layers"]):
        return None
    return False


def artifact_from_doc(
    repository: str, digest: str, doc: object, declared: str | None, size: int, tags: list[str]
) -> Artifact | None:
    """The Artifact core.manifest.artifact_from_parsed would build from `doc`, or None when
    the document needs the pydantic path."""
    is_index = is_plain_index(doc, declared)
    if is_index is None:
        return None
    doc = cast("dict[str, Any]", doc)  # is_plain_index checked its shape
    children: tuple[ChildRef, ...] = ()
    blobs: tuple[BlobRef, ...] = ()
    config_media_type = None
    if is_index:
        children = tuple(
            ChildRef(
                c["digest"],
                c["mediaType"],
                c["size"],
                PlatformInfo(p["os"], p["architecture"], p.get("variant")) if (p := c.get("platform")) is not None else None,
                c.get("annotations"),
            )
            for c in doc["manifests"]
        )
        default_type = mt.OCI_INDEX
    else:
        config = doc["config"]
        blobs = tuple(BlobRef(d["digest"], d["size"], d["mediaType"]) for d in (config, *doc.get("layers", ())))
        config_media_type = config["mediaType"]
        default_type = mt.OCI_MANIFEST
    subject = doc.get("subject")
    return Artifact(
        repository=repository,
        digest=digest,
        media_type=doc.get("mediaType") or declared or default_type,
        size=size,
        children=children,
        blobs=blobs,
        subject=subject["digest"] if subject is not None else None,
        artifact_type=doc.get("artifactType"),
        config_media_type=config_media_type,
        annotations=doc.get("annotations"),
        tags=tags,
    )


def artifact_from_bytes(
    repository: str, digest: str, data: bytes, declared: str | None, tags: list[str], where: Callable[[], str]
) -> Artifact:
    """Manifest bytes -> Artifact: the fast path for the usual shape, else core.manifest's pydantic
    path, which raises MalformedDataError naming `where()` (built only then: it costs in a hot loop)."""
    try:
        doc = load_json_checked_later(data)  # is_plain_index checks every value's type (a big int is a float here)
    except (ValueError, RecursionError):
        doc = None  # the pydantic path below words the error
    artifact = artifact_from_doc(repository, digest, doc, declared, len(data), tags)
    if artifact is not None:
        return artifact
    from .manifest import artifact_from_parsed, manifest_media_type, parse_manifest  # pydantic: the unusual case

    manifest = parse_manifest(data, declared, where())
    return artifact_from_parsed(repository, digest, manifest, manifest_media_type(manifest, declared), len(data), tags)
