"""`ocitree ls`: the registry tree as plain lines, and as one JSON document.

Lines are streamed as they are made (Rich's Tree took 2.8 s to lay out 25,000 manifests before
printing anything). In a pipe or a file a line is never cut, so grep and scripts see every
field; on a terminal a line wider than the window is cut and ends in an ellipsis, so a cut is
never silent. Every string from the source goes through literal().
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from ocitree.core.dates import CreatedTimes, format_created
from ocitree.core.model import Artifact, Registry, Repository
from ocitree.core.names import short_digest
from ocitree.core.sizes import human_bytes, lists_text, size_label, total_size  # noqa: F401 (human_bytes: its home was here)
from ocitree.core.tag_schemes import shortened_tag

from .literal import literal

# Rich's tree guides, so the output reads as it always did; ASCII where the encoding lacks them.
GUIDES = ("├── ", "└── ", "│   ", "    ")
ASCII_GUIDES = ("+-- ", "`-- ", "|   ", "    ")
ELLIPSIS = "…"


def size_text(repo: Repository, digest: str) -> str:
    """Both sizes, labelled the same on every screen: `manifest 682 B, total 15.1 KiB`."""
    return size_label(repo.artifacts[digest].size, total_size(repo, digest))


def shared_marker(repo: Repository, digest: str) -> str:
    """`shared x2`: the marker of an artifact more than one index lists (Repository.is_shared)."""
    return f"shared x{len(repo.parents_of(digest))}"


def reclaimable_now(registry: Registry) -> str | None:
    """Registry storage: what garbage-collect would free today, for headers."""
    figures = getattr(registry, "garbage_collect_now", None)
    return f"reclaimable now {human_bytes(figures().reclaimable_now)}" if figures else None


def display_tag(tag: str) -> str:
    """A tag as shown: escaped, and a digest-named one (core.tag_schemes) cut to 12 hex digits."""
    return literal(shortened_tag(tag))


def artifact_label(repo: Repository, artifact: Artifact, platform: str | None = None, marker: str | None = None,
                   created: float | None = None) -> str:
    digest = artifact.digest
    kind = repo.kind_of(digest)
    parts = []
    if marker:  # what is odd about an artifact the top level does not lead to (Repository.detached)
        missing = repo.missing_subjects(digest)
        parts.append(marker.upper() + (" (missing subject " + ", ".join(short_digest(d) for d in missing) + ")" if missing else ""))
    if artifact.tags:
        parts.append(", ".join(display_tag(t) for t in artifact.tags))
    elif repo.is_top_level(digest):
        parts.append("(untagged)")
    parts.append(short_digest(digest))
    parts.append(kind)
    if platform:
        parts.append(literal(platform))
    if artifact.is_index:
        parts.append(f"[{lists_text(repo, digest)}]")
    if repo.is_shared(digest):
        parts.append(shared_marker(repo, digest))
    parts.append(size_label(artifact.size, total_size(repo, digest)))
    if created is not None or kind in ("image", "index"):
        parts.append("created " + format_created(created))  # `-`: an image or index with no date
    return " ".join(parts)


def registry_lines(registry: Registry, guides: tuple[str, str, str, str] = GUIDES) -> Iterator[str]:
    """The tree, one line at a time, in the order Rich's Tree printed it."""
    branch, last, through, blank = guides
    reclaimable = reclaimable_now(registry)
    yield (literal(registry.source) + f"  {len(registry.repositories)} repositories, {registry.artifact_count} artifacts"
           + (f", {reclaimable}" if reclaimable else ""))
    names = sorted(registry.repositories)
    for i, name in enumerate(names):
        repo = registry.repositories[name]
        final = i == len(names) - 1
        yield (last if final else branch) + literal(name)
        prefix = blank if final else through
        top = repo.top_level()
        items = [(a, None) for a in top] + repo.detached(top)
        leftovers = repo.leftover_blobs
        times = CreatedTimes(repo)
        for j, (artifact, marker) in enumerate(items):
            yield from _artifact_lines(repo, artifact, None, frozenset(), prefix, j == len(items) - 1 and not leftovers, guides,
                                       marker, times)
        if leftovers:  # blob files a delete cut off after rewriting index.json left behind
            n = len(leftovers)
            yield (prefix + last + f"leftovers: {n} unreferenced blob{'s' if n != 1 else ''}, "
                   f"{human_bytes(sum(leftovers.values()))} (no manifest uses them)")


def _artifact_lines(repo: Repository, artifact: Artifact, platform: str | None, path: frozenset,
                    prefix: str, final: bool, guides, marker: str | None = None,
                    times: CreatedTimes | None = None) -> Iterator[str]:
    branch, last, through, blank = guides
    created = times.of(artifact.digest) if times is not None else None
    yield prefix + (last if final else branch) + artifact_label(repo, artifact, platform, marker, created)
    inner = prefix + (blank if final else through)
    path = path | {artifact.digest}
    rows: list[tuple[str, Artifact | None, str | None]] = []  # (child digest, artifact or None if missing, platform)
    for child in artifact.children:
        c = repo.artifacts.get(child.digest)
        plat = str(child.platform) if child.platform else None
        if c is None:
            rows.append((child.digest, None, plat))
        elif c.digest not in path:
            rows.append((child.digest, c, plat))
    for acc in repo.accessories.get(artifact.digest, ()):
        a = repo.artifacts.get(acc)
        if a is not None and a.digest not in path:
            rows.append((acc, a, None))
    for k, (digest, child_artifact, plat) in enumerate(rows):
        child_final = k == len(rows) - 1
        if child_artifact is None:
            yield inner + (last if child_final else branch) + f"{short_digest(digest)} {literal(plat or '')} MISSING"
        else:
            yield from _artifact_lines(repo, child_artifact, plat, path, inner, child_final, guides, None, times)


def write_registry(registry: Registry, out: IO[str], width: int | None = None) -> None:
    """Stream the tree to `out`; `width` (a terminal's) cuts longer lines with an ellipsis."""
    guides = GUIDES
    try:
        "".join(GUIDES).encode(getattr(out, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        guides = ASCII_GUIDES
    cut = _cutter(width) if width else None
    write = out.write
    batch: list[str] = []
    for line in registry_lines(registry, guides):
        batch.append(cut(line) if cut else line)
        if len(batch) >= 512:
            batch.append("")
            write("\n".join(batch))
            batch = []
    if batch:
        batch.append("")
        write("\n".join(batch))
    out.flush()


def _cutter(width: int):
    from rich.cells import cell_len, set_cell_size  # only on a terminal: wide characters take two cells

    def cut(line: str) -> str:
        if len(line) <= width // 2 or cell_len(line) <= width:
            return line
        return set_cell_size(line, width - 1) + ELLIPSIS

    return cut


def registry_json(registry: Registry) -> dict:
    def node(repo: Repository, times: CreatedTimes, artifact: Artifact, platform: str | None, path: frozenset,
             marker: str | None = None) -> dict:
        digest = artifact.digest
        parents = repo.parents.get(digest, ())
        seconds = times.of(digest)
        out: dict[str, Any] = {
            "digest": digest,
            "media_type": artifact.media_type,
            "kind": repo.kind_of(digest),
            "tags": list(artifact.tags),
            "size": artifact.size,
            "total_size": total_size(repo, digest),
            "platform": platform,
            "parents": list(parents),
            "shared": len(parents) > 1,  # Repository.is_shared
            "artifact_type": artifact.artifact_type,
            "annotations": artifact.annotations or {},
            "created": None if seconds is None else format_created(seconds),
            "children": [],
            "accessories": [],
            "missing_children": [],
            "marker": marker,  # what is odd about an artifact the top level does not lead to
            "missing_subjects": repo.missing_subjects(digest) if digest in repo.subjects else [],
        }
        accessories = repo.accessories.get(digest)
        if not artifact.children and not accessories:
            return out  # most artifacts: nothing below
        path = path | {digest}
        arts = repo.artifacts
        for child in artifact.children:
            c = arts.get(child.digest)
            if c is None:
                out["missing_children"].append(child.digest)
            elif c.digest not in path:
                out["children"].append(node(repo, times, c, str(child.platform) if child.platform else None, path))
        for acc in accessories or ():
            if acc in arts and acc not in path:
                out["accessories"].append(node(repo, times, arts[acc], None, path))
        return out

    def roots(repo: Repository) -> list[dict]:
        top = repo.top_level()
        times = CreatedTimes(repo)
        return ([node(repo, times, a, None, frozenset()) for a in top]
                + [node(repo, times, a, None, frozenset(), marker) for a, marker in repo.detached(top)])

    doc: dict[str, Any] = {
        "source": registry.source,
        "repositories": [
            {"name": name, "artifact_count": len(r.artifacts), "artifacts": roots(r),
             "leftover_blobs": [{"digest": d, "size": n} for d, n in sorted(r.leftover_blobs.items())]}
            for name, r in sorted(registry.repositories.items())
        ],
    }
    figures = getattr(registry, "garbage_collect_now", None)  # registry storage read directly
    if figures is not None:
        now = figures()
        doc["reclaimable_now"] = {"bytes": now.reclaimable_now, "delete_untagged_bytes": now.reclaimable_now_delete_untagged}
    return doc
