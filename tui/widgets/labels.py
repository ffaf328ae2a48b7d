"""One tree row as text. Every state is a word as well as a style, so rows read the same
with NO_COLOR, in 16 colours and in a screen reader; the words come first so that a
narrow terminal crops the digest and size, never the state."""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from ocitree.core.model import CYCLE, ORPHANED, Registry, Repository
from ocitree.core.names import short_hex
from ocitree.core.protection import ProtectionRule, first_protected
from ocitree.core.sizes import size_label, total_size

from ..literal import literal
from ..ls_output import display_tag, shared_marker
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

    def label(self, repo: Repository, digest: str) -> str:
        """Both sizes, labelled as on every screen (core.sizes.size_label)."""
        return size_label(repo.artifacts[digest].size, self.size(repo, digest))


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
        text.append(short_hex(entry.digest or ""), styles.digest)
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
    if repo.is_shared(digest):
        text.append(shared_marker(repo, digest), styles.shared)
        text.append(" ")
    if rules and first_protected(rules, repo.name, artifact.tags):
        text.append(PROTECTED, styles.protected)
        text.append(" ")
    tags = artifact.plain_tags
    kind = repo.kind_of(digest)
    if entry.relation == "accessory" or digest in repo.subjects:
        if entry.relation == "top":  # the `orphaned` marker the filter matches
            text.append("orphaned ", styles.missing)
        text.append(kind, styles.accessory)
        text.append(" ")
        if entry.relation == "top":  # Repository.detached put it there: say why
            orphaned = not repo.present_subjects(digest)
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
    text.append(short_hex(digest), styles.digest)
    text.append(f" {sizes.label(repo, digest)}", styles.detail)
    return text
