"""An image config's `created`: the one field of a config blob ocitree reads (core.dates uses it).

Only image manifests whose config media type is an image config have one worth reading; other
artifacts' configs (empty, cosign's, an SBOM tool's) say nothing about when an image was built.
A config that is missing, too large, damaged (not matching its digest) or not JSON, or whose
`created` is not RFC 3339, leaves the date unknown: a date is optional data, never a failed load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from . import media_types as mt
from .dates import parse_created
from .digests import digest_matches
from .json_text import load_json_checked_later
from .model import Artifact, BlobRef
from .small_files import read_small_file

# Image configs are a few KiB (a long history makes tens); a "config" larger than this is not one.
MAX_CONFIG_BYTES = 4 * 1024 * 1024
# Go's zero time.Time, which some tools write when they know no date: not a date.
_YEAR_ONE = -62135596800.0 + 366 * 86400


def config_to_read(artifact: Artifact) -> BlobRef | None:
    """The config blob whose `created` dates `artifact`, or None when it has none worth reading."""
    if artifact.is_index or artifact.config_media_type not in mt.IMAGE_CONFIG_TYPES or not artifact.blobs:
        return None
    config = artifact.blobs[0]  # the stores keep the config first, then the layers
    if config.media_type != artifact.config_media_type or not 0 < config.size <= MAX_CONFIG_BYTES:
        return None
    return config


def created_from_config(digest: str, data: bytes) -> float | None:
    """POSIX seconds from the config's `created`; None when `data` is not that config or has no date."""
    if len(data) > MAX_CONFIG_BYTES or not digest_matches(digest, data):
        return None
    try:
        doc = load_json_checked_later(data)  # only the `created` string is read
    except (ValueError, UnicodeDecodeError):  # NestedTooDeeply included
        return None
    if not isinstance(doc, dict):
        return None
    created = parse_created(doc.get("created"))
    return None if created is None or created < _YEAR_ONE else created


def created_from_file(path: str, digest: str) -> float | None:
    """created_from_config of the blob file at `path`, reading at most MAX_CONFIG_BYTES + 1 bytes."""
    try:
        data = read_small_file(path, MAX_CONFIG_BYTES)
    except OSError:
        return None
    return created_from_config(digest, data)


def date_images(artifacts: Iterable[Artifact], blob_file: Callable[[str], str]) -> None:
    """Set each image's `created` from its config, the file `blob_file(digest)`, each config read once
    (the stores on disk: layouts and distribution's storage)."""
    created: dict[str, float | None] = {}
    for artifact in artifacts:
        config = config_to_read(artifact)
        if config is None:
            continue
        digest = config.digest
        if digest not in created:
            created[digest] = created_from_file(blob_file(digest), digest)
        artifact.created = created[digest]
