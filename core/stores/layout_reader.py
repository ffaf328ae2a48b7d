"""Reading OCI image layouts: finding them under a root, and turning one into a Repository.

A layout is a directory with an `oci-layout` file, an `index.json` and `blobs/<alg>/<hex>`.
Its artifacts are the manifests `index.json` lists (tags from the
`org.opencontainers.image.ref.name` annotation) and every manifest those reach.
Everything read is checked: a damaged layout is a MalformedDataError naming the file
and the place, never a half-loaded tree.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import media_types as mt
from ..errors import BadInputError, MalformedDataError, StoreError
from ..json_text import NestedTooDeeply, load_json
from ..manifest import ImageIndex, ImageManifest, artifact_from_parsed, digest_of, manifest_media_type, parse_manifest
from ..model import Artifact, Repository
from ..names import is_repository_name, is_tag, short_digest

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
    index_doc: dict
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
    index = parse_manifest(index_raw, mt.OCI_INDEX, str(index_path))
    if not isinstance(index, ImageIndex):
        raise MalformedDataError(f"{index_path}: not an image index (it has no 'manifests' list)")

    tags: dict[str, list[str]] = {}  # digest -> tags, in index.json order
    tag_owner: dict[str, tuple[str, int]] = {}
    declared: dict[str, str] = {}  # digest -> media type its descriptor declares
    for i, entry in enumerate(index.manifests):
        declared.setdefault(entry.digest, entry.media_type)
        digest_tags = tags.setdefault(entry.digest, [])
        tag = (entry.annotations or {}).get(REF_NAME)
        if tag is None:
            continue
        place = f"{index_path}: manifests[{i}].annotations[{REF_NAME!r}]"
        if not is_tag(tag):
            raise MalformedDataError(
                f"{place} = {json.dumps(tag)[:80]} is not a valid tag "
                "(letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')"
            )
        owner = tag_owner.get(tag)
        if owner and owner[0] != entry.digest:
            raise MalformedDataError(
                f"{place}: tag {tag!r} is also on manifests[{owner[1]}] ({short_digest(owner[0])}); a tag names one manifest"
            )
        tag_owner.setdefault(tag, (entry.digest, i))
        if tag not in digest_tags:
            digest_tags.append(tag)

    artifacts: dict[str, Artifact] = {}
    queue: deque[tuple[str, str, str | None]] = deque()  # (digest, declared media type, listing parent)
    for digest, media_type in declared.items():
        queue.append((digest, media_type, None))
    queued = set(declared)
    while queue:
        digest, media_type, parent = queue.popleft()
        path = blob_path(layout, digest)
        if parent is None:
            where = f"{path} (listed in {index_path} as {_entry_label(digest, tags)})"
        else:
            where = f"{path} (listed by index {short_digest(parent)})"
        data = _read_manifest_blob(path, where, missing_ok=parent is not None)
        if data is None:
            continue  # a missing child: the planner reports it
        if digest_of(data, digest.partition(":")[0]) != digest:
            raise MalformedDataError(f"{where}: content does not match its digest; the blob is damaged")
        manifest = parse_manifest(data, media_type, where)
        artifact = _artifact(name, digest, manifest, media_type, data, tags.get(digest, []))
        artifacts[digest] = artifact
        for child in artifact.children:
            if child.digest not in queued:
                queued.add(child.digest)
                queue.append((child.digest, child.media_type, digest))
        if on_manifests and len(artifacts) % 1000 == 0:
            on_manifests(len(artifacts))
    try:
        repository = Repository(name, artifacts.values())
    except MalformedDataError as exc:
        raise MalformedDataError(f"{layout}: {exc}") from None
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


def _read_manifest_blob(path: Path, where: str, missing_ok: bool) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise MalformedDataError(f"{where}: the blob does not exist; restore it or remove that entry from index.json") from None
    except IsADirectoryError:
        raise MalformedDataError(f"{where}: is a directory, expected a blob file") from None
    except OSError as exc:
        raise StoreError(f"{where}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise MalformedDataError(f"{where}: larger than 4 MiB, so not a manifest; an index lists a blob that is not one")
    return data


def _artifact(
    repository: str, digest: str, manifest: ImageManifest | ImageIndex, declared: str, data: bytes, tags: list[str]
) -> Artifact:
    return artifact_from_parsed(repository, digest, manifest, manifest_media_type(manifest, declared), len(data), list(tags))



def unreferenced_blobs(layouts: dict[str, Path], repositories: dict[str, Repository]) -> dict[str, dict[str, int]]:
    """Repository name -> {digest: size} of blob files in its layout that no manifest uses:
    what a delete cut off after rewriting index.json leaves. Layouts whose blob directories are
    one directory (a symlink) count their users together; the leftovers go to the first of them."""
    users: dict[str, set[str]] = {}  # real blob directory -> digests some layout uses there
    owners: dict[str, str] = {}  # real blob directory -> the repository its leftovers are shown under
    directories: dict[str, list[tuple[str, str]]] = {}  # repository -> [(algorithm, real directory)]
    for name, layout in layouts.items():
        repo = repositories.get(name)
        if repo is None:
            continue
        used = set(repo.artifacts)
        for artifact in repo.artifacts.values():
            used.update(c.digest for c in artifact.children)
            used.update(b.digest for b in artifact.blobs)
        try:
            algorithms = [e.name for e in os.scandir(layout / "blobs") if e.is_dir()]
        except OSError:
            continue
        for algorithm in algorithms:
            real = os.path.realpath(layout / "blobs" / algorithm)
            users.setdefault(real, set()).update(d for d in used if d.startswith(algorithm + ":"))
            owners.setdefault(real, name)
            directories.setdefault(name, []).append((algorithm, real))
    found: dict[str, dict[str, int]] = {}
    for name, dirs in directories.items():
        for algorithm, real in dirs:
            if owners[real] != name:
                continue
            used = users[real]
            try:
                entries = list(os.scandir(real))
            except OSError:
                continue
            for entry in entries:
                digest = f"{algorithm}:{entry.name}"
                if digest in used or not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    found.setdefault(name, {})[digest] = entry.stat(follow_symlinks=False).st_size
                except OSError:
                    pass
    return found
