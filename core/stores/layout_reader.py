"""Reading OCI image layouts: finding them under a root, and turning one into a Repository.

A layout is a directory with an `oci-layout` file, an `index.json` and `blobs/<alg>/<hex>`.
Its artifacts are the manifests `index.json` lists (tags from the
`org.opencontainers.image.ref.name` annotation) and every manifest those reach.
Everything read is checked: a damaged layout is a MalformedDataError naming the file
and the place, never a half-loaded tree. The one exception is an image's config, read only for
its `created` time (core.image_config): one that is missing or damaged leaves the date unknown.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from .. import media_types as mt
from ..digests import digest_matches
from ..errors import BadInputError, MalformedDataError, StoreError
from ..image_config import date_images
from ..json_text import NestedTooDeeply, load_json
from ..manifest_fast import artifact_from_bytes, is_plain_index
from ..model import Artifact, Repository, used_digests
from ..names import is_repository_name, is_tag, short_digest
from ..small_files import read_small_file
from .layout_sharing import BlobListings

LAYOUT_FILE = "oci-layout"
INDEX_FILE = "index.json"
REF_NAME = "org.opencontainers.image.ref.name"
# distribution refuses manifests above 4 MiB; a bigger "manifest" is a layer listed by mistake.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024

ManifestCountCallback = Callable[[int], None]


def blob_path(layout: Path, digest: str) -> Path:
    """`blobs/<algorithm>/<hex>`; digests are validated before they get here, so no path tricks."""
    algorithm, _, hexpart = digest.partition(":")
    return layout / "blobs" / algorithm / hexpart


def _blob_file(blobs_dir: str, digest: str) -> str:
    """blob_path as a string: 25,000 pathlib joins were a tenth of loading a layout root."""
    algorithm, _, hexpart = digest.partition(":")
    return f"{blobs_dir}/{algorithm}/{hexpart}"


def is_layout(path: Path) -> bool:
    return (path / LAYOUT_FILE).is_file()


def find_layouts(root: Path) -> dict[str, Path]:
    """Repository name -> layout directory.

    `root` itself a layout: one repository named after the directory. Otherwise every
    layout below it, at any depth, named by its path relative to `root` (zot's disk format,
    where `library/app` and `library` may both be repositories). Hidden directories and a
    layout's own `blobs` are not searched."""
    if is_layout(root):
        name = Path(os.path.abspath(root)).name  # as typed: a symlink keeps its own name
        _check_name(name, root, f"the directory name {name!r}")
        return {name: root}
    found: dict[str, Path] = {}

    def fail(exc: OSError) -> None:
        raise StoreError(f"{exc.filename}: cannot read directory ({exc.strerror})")

    for dirpath, dirnames, filenames in os.walk(root, onerror=fail):
        here = Path(dirpath)
        if LAYOUT_FILE in filenames and (here / LAYOUT_FILE).is_file():
            name = here.relative_to(root).as_posix()
            _check_name(name, here, f"its path below {root}, {name!r},")
            found[name] = here
            dirnames[:] = [d for d in dirnames if d != "blobs"]
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    if not found:
        raise BadInputError(
            f"{root}: no {LAYOUT_FILE} file in it or in any directory below it; "
            "give an OCI image layout directory, a directory of layouts, a sample JSON file or a registry URL"
        )
    return dict(sorted(found.items()))


def _check_name(name: str, directory: Path, what: str) -> None:
    if not is_repository_name(name):
        raise BadInputError(
            f"{directory}: {what} is not a valid repository name "
            "(lowercase letters, digits and separators . _ __ -, components joined by '/'); "
            "rename the directory to use this layout"
        )


@dataclass
class LayoutContents:
    """One layout as read: its graph, plus index.json as parsed and as raw bytes (to rewrite it)."""

    repository: Repository
    index_doc: dict[str, Any]
    index_raw: bytes


def read_index_bytes(layout: Path) -> bytes:
    return _read_file(layout / INDEX_FILE, "its index.json")


def read_layout(
    name: str, layout: Path, on_manifests: ManifestCountCallback | None = None, index_raw: bytes | None = None
) -> LayoutContents:
    """Read one layout completely (from `index_raw` if the caller already read index.json);
    `on_manifests(n)` is called every 1000 manifests read."""
    _check_layout_file(layout / LAYOUT_FILE)
    index_path = layout / INDEX_FILE
    if index_raw is None:
        index_raw = read_index_bytes(layout)
    try:
        index_doc = load_json(index_raw)
    except NestedTooDeeply:
        raise MalformedDataError(f"{index_path}: JSON nested too deeply to be an image index") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedDataError(f"{index_path}: not JSON ({exc})") from None
    entries = _index_entries(index_doc, index_raw, index_path)

    tags: dict[str, list[str]] = {}  # digest -> tags, in index.json order
    tag_owner: dict[str, tuple[str, int]] = {}
    declared: dict[str, str] = {}  # digest -> media type its descriptor declares
    for i, (entry_digest, entry_media_type, annotations) in enumerate(entries):
        declared.setdefault(entry_digest, entry_media_type)
        digest_tags = tags.setdefault(entry_digest, [])
        tag = (annotations or {}).get(REF_NAME)
        if tag is None:
            continue
        if not is_tag(tag):
            place = f"{index_path}: manifests[{i}].annotations[{REF_NAME!r}]"
            raise MalformedDataError(
                f"{place} = {json.dumps(tag)[:80]} is not a valid tag "
                "(letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')"
            )
        owner = tag_owner.get(tag)
        if owner and owner[0] != entry_digest:
            place = f"{index_path}: manifests[{i}].annotations[{REF_NAME!r}]"
            raise MalformedDataError(
                f"{place}: tag {tag!r} is also on manifests[{owner[1]}] ({short_digest(owner[0])}); a tag names one manifest"
            )
        tag_owner.setdefault(tag, (entry_digest, i))
        if tag not in digest_tags:
            digest_tags.append(tag)

    artifacts: dict[str, Artifact] = {}
    queue: deque[tuple[str, str, str | None]] = deque()  # (digest, declared media type, listing parent)
    for digest, media_type in declared.items():
        queue.append((digest, media_type, None))
    queued = set(declared)
    blobs_dir = os.path.join(layout, "blobs")
    while queue:
        digest, media_type, parent = queue.popleft()
        path = _blob_file(blobs_dir, digest)
        data = _read_manifest_blob(path, parent is not None)
        if data is None:
            continue  # a missing child: the planner reports it
        if data is _FAILED or not digest_matches(digest, data):
            # Messages are made only here: formatting a place per manifest cost more than reading it.
            where = _where(path, index_path, digest, parent, tags)
            if data is _FAILED:
                _read_manifest_blob(path, parent is not None, where)  # raises the one-line error
            raise MalformedDataError(f"{where}: content does not match its digest; the blob is damaged")
        artifact = _artifact(name, digest, data, media_type, tags.get(digest, []), path, index_path, parent, tags)
        artifacts[digest] = artifact
        for child in artifact.children:
            if child.digest not in queued:
                queued.add(child.digest)
                queue.append((child.digest, child.media_type, digest))
        if on_manifests and len(artifacts) % 1000 == 0:
            on_manifests(len(artifacts))
    date_images(artifacts.values(), lambda digest: _blob_file(blobs_dir, digest))
    # No cycle check: each manifest matched its digest above, and an index that lists itself
    # (through any chain) would need its own sha256 inside itself.
    repository = Repository(name, artifacts.values(), check_cycles=False)
    return LayoutContents(repository, index_doc, index_raw)


def _entry_label(digest: str, tags: dict[str, list[str]]) -> str:
    digest_tags = tags.get(digest)
    return f"tag {digest_tags[0]!r}" if digest_tags else f"untagged entry {short_digest(digest)}"


def _check_layout_file(path: Path) -> None:
    raw = _read_file(path, f"its {LAYOUT_FILE} file")
    try:
        doc = load_json(raw)
    except NestedTooDeeply:
        raise MalformedDataError(f"{path}: JSON nested too deeply to be an {LAYOUT_FILE} file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedDataError(f"{path}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("imageLayoutVersion"), str):
        raise MalformedDataError(f"{path}: expected a JSON object with \"imageLayoutVersion\" (such as \"1.0.0\")")


def _read_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MalformedDataError(f"{path}: missing; an OCI image layout needs {what}") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read ({exc.strerror})") from None


_FAILED = b"\0failed"  # a read that raised: the caller asks again with the place to name


def _read_manifest_blob(path: str, missing_ok: bool, where: str | None = None) -> bytes | None:
    """The blob's bytes. Without `where`, any failure but a missing child returns _FAILED; with it, raises."""
    try:
        data = read_small_file(path, MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        if missing_ok:
            return None
        if where is None:
            return _FAILED
        raise MalformedDataError(f"{where}: the blob does not exist; restore it or remove that entry from index.json") from None
    except IsADirectoryError:
        if where is None:
            return _FAILED
        raise MalformedDataError(f"{where}: is a directory, expected a blob file") from None
    except OSError as exc:
        if where is None:
            return _FAILED
        raise StoreError(f"{where}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_MANIFEST_BYTES:
        if where is None:
            return _FAILED
        raise MalformedDataError(f"{where}: larger than 4 MiB, so not a manifest; an index lists a blob that is not one")
    return data


def _where(path: str, index_path: Path, digest: str, parent: str | None, tags: dict[str, list[str]]) -> str:
    if parent is None:
        return f"{path} (listed in {index_path} as {_entry_label(digest, tags)})"
    return f"{path} (listed by index {short_digest(parent)})"


def _index_entries(index_doc: object, index_raw: bytes, index_path: Path) -> list[tuple[str, str, dict[str, str] | None]]:
    """(digest, media type, annotations) of each index.json entry, checked."""
    if is_plain_index(index_doc, mt.OCI_INDEX):
        checked = cast("dict[str, Any]", index_doc)  # is_plain_index checked its shape
        return [(e["digest"], e["mediaType"], e.get("annotations")) for e in checked["manifests"]]
    from ..manifest import ImageIndex, parse_manifest  # pydantic: only for a document out of the ordinary

    index = parse_manifest(index_raw, mt.OCI_INDEX, str(index_path))
    if not isinstance(index, ImageIndex):
        raise MalformedDataError(f"{index_path}: not an image index (it has no 'manifests' list)")
    return [(e.digest, e.media_type, e.annotations) for e in index.manifests]


def _artifact(
    repository: str, digest: str, data: bytes, declared: str, tags: list[str],
    path: str, index_path: Path, parent: str | None, all_tags: dict[str, list[str]],
) -> Artifact:
    return artifact_from_bytes(repository, digest, data, declared, list(tags),
                               lambda: _where(path, index_path, digest, parent, all_tags))


def unreferenced_blobs(layouts: dict[str, Path], repositories: dict[str, Repository],
                       listings: BlobListings | None = None,
                       linked: Mapping[tuple[str, str], str] | None = None) -> dict[str, dict[str, int]]:
    """Repository name -> {digest: size} of blob files in its layout that no manifest uses:
    what a delete cut off after rewriting index.json leaves. Layouts whose blob directories are
    one directory (a symlink) count their users together; the leftovers go to the first of them.
    `linked` (BlobScope.files): (layout, digest) -> the real directory of the file a blob file that
    is a symlink leads to; a layout using that blob uses that file."""
    listings = listings or BlobListings()
    users: dict[str, set[str]] = {}  # real blob directory -> digests some layout using it uses
    owners: dict[str, str] = {}  # real blob directory -> the repository its leftovers are shown under
    directories: dict[str, list[tuple[str, str]]] = {}  # repository -> [(algorithm, real directory)]
    used_by: dict[str, set[str]] = {}
    for name, layout in layouts.items():
        repo = repositories.get(name)
        if repo is None:
            continue
        used = used_by[name] = used_digests(repo)  # the graph's own indexes of children and blobs: no walk over the artifacts
        try:
            algorithms = [e.name for e in os.scandir(layout / "blobs") if e.is_dir()]
        except OSError:
            continue
        for algorithm in algorithms:
            real = os.path.realpath(layout / "blobs" / algorithm)
            users.setdefault(real, set()).update(used)  # every algorithm's: each file is looked up with its own
            owners.setdefault(real, name)
            directories.setdefault(name, []).append((algorithm, real))
    for (name, digest), directory in (linked or {}).items():
        if digest in used_by.get(name, ()):  # the file its link leads to is in use, wherever it lies
            users.setdefault(directory, set()).add(digest)
    found: dict[str, dict[str, int]] = {}
    for name, dirs in directories.items():
        for algorithm, real in dirs:
            listing = listings.listing(real) if owners[real] == name else None
            if listing is None:
                continue
            used = users[real]
            prefix = algorithm + ":"
            for file_name in listing.files:
                if prefix + file_name in used:
                    continue
                try:
                    found.setdefault(name, {})[f"{algorithm}:{file_name}"] = os.lstat(os.path.join(real, file_name)).st_size
                except OSError:
                    pass
    return found
