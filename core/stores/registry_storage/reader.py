"""Reading distribution's filesystem storage: a directory walk, no registry needed.

Per repository: every manifest it links (`_manifests/revisions`, tagged or not) and every tag
(`_manifests/tags/<tag>/current/link`). For the registry: every blob file's size. Each manifest's
bytes are read and parsed once however many repositories link it (content lives once, in blobs/).

What counts is what distribution itself counts: a revision directory without its `link` file is a
deleted manifest (the registry's DELETE removes only the file); a revision whose blob file is gone
is not served (the API answers 404) and garbage-collect skips it, so it is no artifact either; a
tag whose manifest the repository does not link is not served, so it is dropped.

Each image's `created` comes from its config blob (core.image_config), read once per config; a
config that is missing or damaged leaves the date unknown rather than failing the read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ...digests import digest_matches
from ...errors import MalformedDataError, StoreError
from ...image_config import date_images
from ...model import Artifact
from ...names import is_digest, is_repository_name, is_tag, short_digest
from ..registry.artifacts import artifact_from_manifest
from .paths import MANIFESTS

MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # distribution's own limit


@dataclass
class RepositoryLinks:
    """One repository as its links say: manifest digests, and tag -> digest."""

    revisions: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class StorageContents:
    repositories: dict[str, RepositoryLinks]
    #: digest -> size of blobs/<alg>/<xx>/<hex>/data, for every blob file (only in a full read)
    blob_sizes: dict[str, int]
    #: digest -> the manifest parsed (repository field empty), for every linked manifest whose blob exists
    manifests: dict[str, Artifact]


def read_link(path: str) -> str | None:
    """A link file's digest; None when the file is absent (a deleted revision or tag)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(200)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read ({exc.strerror})") from None
    text = raw.decode("ascii", "replace").strip()
    if not is_digest(text):
        raise MalformedDataError(f"{path}: a link file holding {text[:80]!r}, not a digest; "
                                 "not a storage layout ocitree recognises")
    return text


def _scandir(path: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            return list(it)
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        return []
    except OSError as exc:
        raise StoreError(f"{path}: cannot read directory ({exc.strerror})") from None


def find_repositories(v2: Path) -> dict[str, str]:
    """Repository name -> its directory: every directory below repositories/ holding `_manifests`
    (a name may sit inside another: `library` and `library/app`). `_`-directories are the registry's own."""
    root = str(v2 / "repositories")
    found: dict[str, str] = {}
    stack = [("", root)]
    while stack:
        name, path = stack.pop()
        entries = _scandir(path)
        if name and any(e.name == MANIFESTS for e in entries):
            if not is_repository_name(name):
                raise MalformedDataError(f"{path}: {name!r} is not a valid repository name; "
                                         "not a storage layout ocitree recognises")
            found[name] = path
        for e in entries:
            if not e.name.startswith("_") and e.is_dir(follow_symlinks=False):
                stack.append((f"{name}/{e.name}" if name else e.name, e.path))
    return dict(sorted(found.items()))


def read_repository_links(name: str, path: str) -> RepositoryLinks:
    links = RepositoryLinks()
    manifests = os.path.join(path, MANIFESTS)
    revisions = os.path.join(manifests, "revisions")
    for algorithm in _scandir(revisions):
        for entry in _scandir(algorithm.path):
            digest = read_link(os.path.join(entry.path, "link"))
            if digest is None:
                continue
            if digest != f"{algorithm.name}:{entry.name}":
                raise MalformedDataError(f"{entry.path}/link: holds {digest}, not the digest its path names; "
                                         "not a storage layout ocitree recognises")
            links.revisions.append(digest)
    held = set(links.revisions)
    for entry in _scandir(os.path.join(manifests, "tags")):
        digest = read_link(os.path.join(entry.path, "current", "link"))
        if digest is None or digest not in held:
            continue  # an emptied tag, or one the registry would answer 404 for
        if not is_tag(entry.name):
            raise MalformedDataError(f"{entry.path}: {entry.name[:80]!r} is not a valid tag; "
                                     "not a storage layout ocitree recognises")
        links.tags[entry.name] = digest
    links.revisions.sort()
    return links


def read_blob_sizes(v2: Path) -> dict[str, int]:
    """Every blob file garbage-collect would consider: blobs/<alg>/<xx>/<hex>/data."""
    sizes: dict[str, int] = {}
    for algorithm in _scandir(str(v2 / "blobs")):
        for prefix in _scandir(algorithm.path):
            for entry in _scandir(prefix.path):
                try:
                    st = os.stat(os.path.join(entry.path, "data"))
                except (FileNotFoundError, NotADirectoryError):
                    continue
                except OSError as exc:
                    raise StoreError(f"{entry.path}/data: cannot read ({exc.strerror})") from None
                sizes[f"{algorithm.name}:{entry.name}"] = st.st_size
    return sizes


def read_manifest(v2: Path, digest: str) -> Artifact | None:
    """The manifest stored under `digest`, parsed; None when its blob file is gone."""
    path = _blob_file(v2, digest)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_MANIFEST_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise MalformedDataError(f"{path}: larger than 4 MiB, so not a manifest, yet a repository links it as one")
    if not digest_matches(digest, data):
        raise MalformedDataError(f"{path}: content does not match its digest {short_digest(digest)}; the blob is damaged")
    return artifact_from_manifest("", digest, data, [], str(path))


def _blob_file(v2: Path, digest: str) -> str:
    """blobs/<alg>/<xx>/<hex>/data as a str: pathlib cost a fifth of the load."""
    algorithm, _, hexpart = digest.partition(":")
    return f"{v2}/blobs/{algorithm}/{hexpart[:2]}/{hexpart}/data"


def read_storage(v2: Path, only: set[str] | None = None) -> StorageContents:
    """Everything (or, with `only`, just those repositories' links and manifests, without blob sizes)."""
    directories = find_repositories(v2)
    if only is not None:
        directories = {n: p for n, p in directories.items() if n in only}
    repositories = {name: read_repository_links(name, path) for name, path in directories.items()}
    manifests: dict[str, Artifact] = {}
    missing: set[str] = set()
    for links in repositories.values():
        for digest in links.revisions:
            if digest in manifests or digest in missing:
                continue
            artifact = read_manifest(v2, digest)
            if artifact is None:
                missing.add(digest)
            else:
                manifests[digest] = artifact
    date_images(manifests.values(), lambda digest: _blob_file(v2, digest))
    blob_sizes = read_blob_sizes(v2) if only is None else {}
    return StorageContents(repositories, blob_sizes, manifests)
