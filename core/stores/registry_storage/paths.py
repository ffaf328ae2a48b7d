"""Where distribution (2.x) keeps things in its filesystem storage, and recognising a root.

    <root>/docker/registry/v2/
        blobs/sha256/<2 hex>/<hex>/data                                 content, once per registry
        repositories/<name>/_manifests/revisions/sha256/<hex>/link      a manifest the repository holds
        repositories/<name>/_manifests/tags/<tag>/current/link          what a tag points at
        repositories/<name>/_layers/sha256/<hex>/link                   a blob the repository may serve
        repositories/<name>/_uploads/                                   uploads in progress
"""

from __future__ import annotations

from pathlib import Path

from ...errors import BadInputError

STORAGE_PREFIX = ("docker", "registry", "v2")
MANIFESTS = "_manifests"


def blob_data_path(v2: Path, digest: str) -> Path:
    algorithm, _, hexpart = digest.partition(":")
    return v2 / "blobs" / algorithm / hexpart[:2] / hexpart / "data"


def revision_link_path(v2: Path, repository: str, digest: str) -> Path:
    algorithm, _, hexpart = digest.partition(":")
    return v2 / "repositories" / repository / MANIFESTS / "revisions" / algorithm / hexpart / "link"


def tags_path(v2: Path, repository: str) -> Path:
    return v2 / "repositories" / repository / MANIFESTS / "tags"


def find_storage_root(path: Path) -> Path | None:
    """The `v2` directory of the storage at `path` (its root or the v2 directory itself), or None
    when `path` is no registry storage at all. A storage it does not recognise is a BadInputError."""
    registry_dir = path.joinpath(*STORAGE_PREFIX[:2])
    if registry_dir.is_dir():
        v2 = registry_dir / "v2"
        if not v2.is_dir():
            found = ", ".join(sorted(p.name for p in registry_dir.iterdir())[:5]) or "nothing"
            raise BadInputError(
                f"{registry_dir}: holds {found}, not v2; ocitree reads distribution 2.x filesystem storage "
                "(docker/registry/v2); for another version or driver use the registry's URL as SOURCE"
            )
        _check_v2(v2)
        return v2
    if path.name == "v2" and ((path / "repositories").exists() or (path / "blobs").exists()):
        _check_v2(path)
        return path
    return None


def _check_v2(v2: Path) -> None:
    repositories, blobs = v2 / "repositories", v2 / "blobs"
    if repositories.exists() and not repositories.is_dir() or blobs.exists() and not blobs.is_dir():
        raise BadInputError(f"{v2}: not a storage layout ocitree recognises (repositories and blobs must be directories); "
                            "use the registry's URL as SOURCE")
    if blobs.is_dir():
        unknown = sorted(p.name for p in blobs.iterdir() if p.name not in ("sha256", "sha512"))
        if unknown:
            raise BadInputError(f"{blobs}: unexpected entry {unknown[0]!r} (expected sha256/); not a storage layout "
                                "ocitree recognises: use the registry's URL as SOURCE")
