"""One tree row as text. Every state is a word as well as a style, so rows read the same
with NO_COLOR, in 16 colours and in a screen reader; the words come first so that a
narrow terminal crops the digest and size, never the state."""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from ocitree.core.model import CYCLE, ORPHANED, Registry, Repository
from ocitree.core.protection import ProtectionRule, first_protected
from ocitree.core.sizes import lists_text, total_size

from ..literal import literal
from ..plan_text import display_tag, human_bytes
from .entries import Entry, group_title

MARKED = "[x]"
SAME = "[same]"
UNTAGGED = "untagged"
PROTECTED = "protected"
MISSING = "missing"


@dataclass
class RowStyles:
    """Rich styles taken from the tree's component classes (so themes and TCSS apply)."""

    repository: Style = Style(bold=True)
    tags: Style = Style(bold=True)
    kind: Style = Style()
    digest: Style = Style(dim=True)
    detail: Style = Style(dim=True)
    shared: Style = Style(bold=True)
    untagged: Style = Style(italic=True)
    protected: Style = Style(bold=True)
    marked: Style = Style(reverse=True)
    same: Style = Style(underline=True)
    accessory: Style = Style()
    missing: Style = Style(bold=True)
    group: Style = Style(italic=True)


def hex12(digest: str) -> str:
    """The first 12 hex digits: enough to be unique in any real registry."""
    return digest.partition(":")[2][:12] or digest[:12]


def kind_of(repo: Repository, digest: str) -> str:
    artifact = repo.artifacts[digest]
    if digest in repo.subjects:
        return repo.accessory_kinds.get(digest, "accessory")
    return artifact.kind


def is_cosign_tag(tag: str) -> bool:
    return tag.startswith(("sha256-", "sha512-")) and len(tag) > 70


def shown_tags(tags: list[str], limit: int = 3) -> str:
    plain = [display_tag(t) for t in tags]
    text = ", ".join(plain[:limit])
    return text + (f" +{len(plain) - limit}" if len(plain) > limit else "")


class SizeCache:
    """Total sizes (unique bytes referenced, core.sizes), computed once per model."""

    def __init__(self) -> None:
        self._sizes: dict[tuple[str, str], int] = {}

    def clear(self) -> None:
        self._sizes.clear()

    def size(self, repo: Repository, digest: str) -> int:
        key = (repo.name, digest)
        cached = self._sizes.get(key)
        if cached is None:
            cached = self._sizes[key] = total_size(repo, digest)
        return cached


def size_label(repo: Repository, digest: str, sizes: SizeCache) -> str:
    """Both sizes, labelled as on every screen: `manifest 682 B, total 15.1 KiB`."""
    return f"manifest {human_bytes(repo.artifacts[digest].size)}, total {human_bytes(sizes.size(repo, digest))}"


def platform_summary(repo: Repository, digest: str) -> str:
    return lists_text(repo, digest)


def row_text(
    registry: Registry,
    entry: Entry,
    styles: RowStyles,
    rules: tuple[ProtectionRule, ...],
    sizes: SizeCache,
    marked: bool = False,
    same: bool = False,
) -> Text:
    text = Text(no_wrap=True, overflow="crop")
    if entry.kind == "group":
        text.append(literal(group_title(registry, entry)), styles.group)
        return text
    repo = registry.repositories.get(entry.repository)
    if entry.kind == "repository":
        text.append(literal(entry.repository), styles.repository)
        n = len(repo.artifacts) if repo else 0
        text.append(f"  {n:,} artifact{'s' if n != 1 else ''}" if n else "  empty", styles.detail)
        return text
    if entry.kind == "missing":
        text.append(MISSING + " ", styles.missing)
        if entry.platform:
            text.append(literal(str(entry.platform)) + " ")
        text.append(hex12(entry.digest or ""), styles.digest)
        text.append("  listed, not in the repository", styles.detail)
        return text
    if repo is None or entry.digest not in repo.artifacts:
        text.append("(deleted)", styles.detail)
        return text
    digest = entry.digest
    artifact = repo.artifacts[digest]
    if marked:
        text.append(MARKED, styles.marked)
        text.append(" ")
    if same:
        text.append(SAME, styles.same)
        text.append(" ")
    parents = len(repo.parents.get(digest, ()))
    if parents > 1:
        text.append(f"shared x{parents}", styles.shared)
        text.append(" ")
    if rules and first_protected(rules, repo.name, artifact.tags):
        text.append(PROTECTED, styles.protected)
        text.append(" ")
    tags = [t for t in artifact.tags if not is_cosign_tag(t)]
    kind = kind_of(repo, digest)
    if entry.relation == "accessory" or digest in repo.subjects:
        if entry.relation == "top":  # the `orphaned` marker the filter matches
            text.append("orphaned ", styles.missing)
        text.append(kind, styles.accessory)
        text.append(" ")
        if entry.relation == "top":  # Repository.detached put it there: say why
            orphaned = not any(s in repo.artifacts for s in repo.subjects.get(digest, ()))
            text.append(f"{ORPHANED}: missing subject " if orphaned else f"{CYCLE} ", styles.missing)
        if tags:
            text.append(literal(shown_tags(tags)), styles.tags)
            text.append(" ")
    else:
        if entry.relation == "child":
            if entry.platform is not None:
                text.append(literal(str(entry.platform)) + " ")
            if tags:
                text.append("tagged ", styles.detail)
                text.append(literal(shown_tags(tags)), styles.tags)
                text.append(" ")
        elif tags:
            text.append(literal(shown_tags(tags)), styles.tags)
            text.append(" ")
        else:
            text.append(UNTAGGED, styles.untagged)
            text.append(" ")
        text.append(kind, styles.kind)
        if artifact.is_index:
            text.append(f" of {len(artifact.children)}", styles.kind)
        text.append(" ")
    text.append(hex12(digest), styles.digest)
    text.append(f" {size_label(repo, digest, sizes)}", styles.detail)
    return text
