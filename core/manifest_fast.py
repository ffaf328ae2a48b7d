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
from typing import Any, TypeVar, cast

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


def _descriptor_fields(d: object) -> tuple[str, int, str] | None:
    """(digest, size, media type) of `d` when core.manifest.Descriptor would accept it and read it
    as written; None when not sure."""
    if type(d) is not dict:
        return None
    get = d.get
    digest = get("digest")
    size = get("size")
    media_type = get("mediaType")
    if not (type(media_type) is str and type(digest) is str and _digest(digest) is not None
            and type(size) is int and size >= 0):
        return None
    if len(d) == 3:  # those three and nothing else: most configs and layers, checked
        return digest, size, media_type
    if (
        _platform_ok(get("platform"))
        and _annotations_ok(get("annotations"))
        and _is_str_or_none(get("artifactType"))
        and "media_type" not in d  # _DESCRIPTOR_NAMES, spelled out: this runs 80,000 times a listing
        and "artifact_type" not in d
    ):
        return digest, size, media_type
    return None


def _descriptors_ok(value: object) -> bool:
    if type(value) is not list:
        return False
    for d in value:
        if _descriptor_fields(d) is None:
            return False
    return True


def _document_ok(doc: dict[str, Any]) -> bool:
    """The fields an index and an image manifest share, as core.manifest's models read them."""
    return (
        _is_str_or_none(doc.get("mediaType"))
        and type(doc.get("schemaVersion")) is int
        and _is_str_or_none(doc.get("artifactType"))
        and _annotations_ok(doc.get("annotations"))
        and "schema_version" not in doc  # _MODEL_NAMES, spelled out
        and "media_type" not in doc
        and "artifact_type" not in doc
    )


def _is_index(doc: dict[str, Any], declared: str | None) -> bool:
    """Whether core.manifest reads `doc` (a well-formed document) as an index."""
    kind = doc.get("mediaType") or declared
    return kind in mt.INDEX_TYPES or (kind is None and "manifests" in doc)


def is_plain_index(doc: object, declared: str | None) -> bool | None:
    """True: a well-formed image index; False: a well-formed image manifest; None: not sure
    (the pydantic path decides, with its error). `declared` is the media type a descriptor gave."""
    if type(doc) is not dict or not _document_ok(doc):
        return None
    subject = doc.get("subject")
    if subject is not None and _descriptor_fields(subject) is None:
        return None
    if _is_index(doc, declared):
        return True if _descriptors_ok(doc.get("manifests")) else None
    if _descriptor_fields(doc.get("config")) is None:
        return None
    if "layers" in doc and not _descriptors_ok(doc["layers"]):
        return None
    return False


_Ref = TypeVar("_Ref", ChildRef, BlobRef)


def _refs(value: object, make: Callable[[dict[str, Any], str, int, str], _Ref]) -> tuple[_Ref, ...] | None:
    """`make(descriptor, digest, size, media type)` of each descriptor of the list `value`, each checked
    as is_plain_index checks it; None when not sure."""
    if type(value) is not list:
        return None
    refs = []
    for d in value:
        fields = _descriptor_fields(d)
        if fields is None:
            return None
        refs.append(make(d, fields[0], fields[1], fields[2]))
    return tuple(refs)


# One PlatformInfo (frozen) per platform, shared by every index entry naming it: tens of thousands of
# entries name a handful. Bounded: a source of endless platforms makes new ones past it.
_PLATFORMS: dict[tuple[str, str, str | None], PlatformInfo] = {}
_MAX_PLATFORMS = 4096


def _child_ref(d: dict[str, Any], digest: str, size: int, media_type: str) -> ChildRef:
    p = d.get("platform")
    platform = None
    if p is not None:
        key = (p["os"], p["architecture"], p.get("variant"))
        platform = _PLATFORMS.get(key)
        if platform is None:
            platform = PlatformInfo(*key)
            if len(_PLATFORMS) < _MAX_PLATFORMS:
                _PLATFORMS[key] = platform
    return ChildRef(digest, media_type, size, platform, d.get("annotations"))


def _blob_ref(d: dict[str, Any], digest: str, size: int, media_type: str) -> BlobRef:
    return BlobRef(digest, size, media_type)


def artifact_from_doc(
    repository: str, digest: str, doc: object, declared: str | None, size: int, tags: list[str]
) -> Artifact | None:
    """The Artifact core.manifest.artifact_from_parsed would build from `doc`, or None when
    the document needs the pydantic path. Checks what is_plain_index checks while building:
    two passes over every descriptor were a fifth of loading a layout root."""
    if type(doc) is not dict or not _document_ok(doc):
        return None
    get = doc.get
    subject = get("subject")
    if subject is not None:
        fields = _descriptor_fields(subject)
        if fields is None:
            return None
        subject = fields[0]
    media_type = get("mediaType")
    if _is_index(doc, declared):
        children = _refs(get("manifests"), _child_ref)
        if children is None:
            return None
        return Artifact(repository, digest, media_type or declared or mt.OCI_INDEX, size, children, (), subject,
                        get("artifactType"), None, get("annotations"), tags)
    config = get("config")
    layers = get("layers")
    if layers is None:
        if "layers" in doc:
            return None
        layers = []
    elif type(layers) is not list:
        return None
    blobs = _refs([config, *layers], _blob_ref)
    if blobs is None:
        return None
    return Artifact(repository, digest, media_type or declared or mt.OCI_MANIFEST, size, (), blobs, subject,
                    get("artifactType"), blobs[0].media_type, get("annotations"), tags)


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
