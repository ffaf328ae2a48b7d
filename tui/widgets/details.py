"""The details pane: every field of the row under the cursor, and what deleting it would do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from ocitree.core.dates import CreatedTimes, format_created
from ocitree.core.model import Repository
from ocitree.core.names import short_hex
from ocitree.core.protection import first_protected
from ocitree.core.sizes import lists_text

from ..literal import literal
from ..ls_output import display_tag, shared_marker
from .entries import Entry, group_title

from .labels import shown_tags

if TYPE_CHECKING:
    from ..registry_view import RegistryView

LIST_LIMIT = 25  # rows listed per section; the tree shows the rest

ArtifactKey = tuple[str, str]


def _field(text: Text, name: str, value: str | Text, style: str = "") -> None:
    text.append(f"{name}: ", "bold")
    if isinstance(value, Text):
        text.append_text(value)
    else:
        text.append(literal(value), style)
    text.append("\n")


def _heading(text: Text, title: str) -> None:
    text.append("\n")
    text.append(title, "bold underline")
    text.append("\n")


def repository_summary(repo: Repository) -> list[tuple[str, str]]:
    """Counts for a repository row (RegistryView.summary keeps them per repository graph)."""
    arts = repo.artifacts.values()
    top = [d for d in repo.artifacts if repo.is_top_level(d)]
    summary = [
        ("Artifacts", str(len(repo.artifacts))),
        ("Indexes", str(sum(1 for a in arts if a.is_index))),
        ("Tags", str(len(repo.tags))),
        ("Shared children", str(sum(1 for d in repo.parents if repo.is_shared(d)))),
        ("Accessories", str(len(repo.subjects))),
        ("Untagged top-level", str(sum(1 for d in top if not repo.artifacts[d].tags))),
    ]
    return summary


def artifact_name(repo: Repository, digest: str) -> str:
    """`repo:tag` or `repo@sha256:…12` for lists of parents and subjects."""
    artifact = repo.artifacts.get(digest)
    tags = artifact.plain_tags if artifact else []
    if tags:
        return f"{literal(repo.name)}:{literal(tags[0])}"
    return f"{literal(repo.name)} (untagged)"


def details_text(view: RegistryView, entry: Entry | None, preview: Text | None, jump_targets: list[ArtifactKey]) -> Text:
    """The pane's content; fills `jump_targets` with the parents (or subjects) keys 1-9 reach."""
    registry, rules, sizes = view.registry, view.rules, view.sizes
    text = Text()
    if entry is None:
        text.append("Nothing under the cursor.")
        return text
    if entry.kind == "group":
        text.append(literal(group_title(registry, entry)), "bold")
        text.append("\nA long level is shown in groups. Enter opens this one.")
        return text
    repo = registry.repositories.get(entry.repository)
    if entry.kind == "repository":
        text.append(literal(entry.repository), "bold")
        text.append("\nrepository\n\n")
        if repo is None or not repo.artifacts:
            text.append("No artifacts left.")
            return text
        for name, value in view.summary(repo):
            _field(text, name, value)
        return text
    if entry.kind == "missing":
        text.append("missing child", "bold")
        text.append("\n")
        _field(text, "Digest", entry.digest or "")
        if entry.platform:
            _field(text, "Platform", str(entry.platform))
        if repo is not None and entry.via:
            _field(text, "Listed by", artifact_name(repo, entry.via) + " " + short_hex(entry.via))
        text.append("\nThe index lists this digest but the repository does not hold it. "
                    "Deleting the index reports it; it is not an error.")
        return text
    if repo is None or entry.digest not in repo.artifacts:
        text.append("(deleted)")
        return text

    digest = entry.digest
    artifact = repo.artifacts[digest]
    kind = repo.kind_of(digest)
    tags = list(artifact.tags)
    title = Text()
    title.append(kind, "bold")
    plain_tags = artifact.plain_tags
    if plain_tags:
        title.append(" " + literal(plain_tags[0]), "bold")
    platform_in_title = not plain_tags and entry.relation == "child" and bool(entry.platform)
    if platform_in_title:
        title.append(" " + literal(str(entry.platform)), "bold")
    text.append_text(title)
    text.append("\n")
    text.append(literal(repo.name), "dim")
    text.append("\n")
    if preview is not None:
        text.append("If deleted: ", "bold")
        text.append_text(preview)
        text.append("\n")
    # No blank line before the fields: at 80x24 the Accessories and Parents headings must fit.
    # The whole digest alone on its line: selecting the line copies exactly the digest.
    text.append("Digest:", "bold")
    text.append("\n")
    text.append(digest)
    text.append("\n")
    _field(text, "Media type", artifact.media_type)
    if artifact.artifact_type:
        _field(text, "Artifact type", artifact.artifact_type)
    _field(text, "Size", sizes.label(repo, digest))
    if kind in ("image", "index"):  # unknown shows as `-`, as in `ls`
        created = CreatedTimes(repo).of(digest)
        _field(text, "Created", format_created(created) if created is not None else "-")
    if entry.platform and not platform_in_title:  # said once: at 80x24 every line counts
        _field(text, "Platform", str(entry.platform))
    if artifact.is_index:
        _field(text, "Lists", lists_text(repo, digest))
    if tags:
        _field(text, "Tags", ", ".join(display_tag(t) for t in tags))
    else:
        _field(text, "Tags", Text("untagged", "italic"))
    protected = first_protected(rules, repo.name, tags) if rules else None
    if protected:
        _field(text, "Protected", f"tag {protected[0]} matches rule {protected[1]}")

    if artifact.annotations:
        _heading(text, f"Annotations ({len(artifact.annotations)})")
        for k, v in artifact.annotations.items():
            text.append("  " + literal(k), "bold")
            text.append(" = " + literal(v) + "\n")

    parents = repo.parents_of(digest)
    if parents:
        shared = f", {shared_marker(repo, digest)}" if repo.is_shared(digest) else ""
        _heading(text, f"Parents ({len(parents)}{shared})")
        for p in parents:
            _jump_line(text, repo, p, jump_targets)
        text.append(_jump_hint(repo, jump_targets), "dim")

    subjects = repo.present_subjects(digest)
    if digest in repo.subjects:
        _heading(text, "Subject")
        if not subjects:
            text.append("  missing: the artifact it describes is gone\n")
        for s in subjects:
            _jump_line(text, repo, s, jump_targets)
        if subjects:
            text.append(_jump_hint(repo, jump_targets), "dim")

    if artifact.children:
        _heading(text, f"Children ({len(artifact.children)})")
        for child in artifact.children[:LIST_LIMIT]:
            line = Text("  ")
            if child.platform:
                line.append(literal(str(child.platform)) + " ")
            line.append(short_hex(child.digest), "dim")
            if child.digest not in repo.artifacts:
                line.append(" missing", "bold")
            else:
                if repo.is_shared(child.digest):
                    line.append(f" {shared_marker(repo, child.digest)}", "bold")
                ctags = repo.artifacts[child.digest].tags
                if ctags:
                    line.append(" tagged " + literal(ctags[0]))
            text.append_text(line)
            text.append("\n")
        if len(artifact.children) > LIST_LIMIT:
            text.append(f"  and {len(artifact.children) - LIST_LIMIT} more\n", "dim")

    accessories = [a for a in repo.accessories_of(digest) if a in repo.artifacts]
    if accessories:
        _heading(text, f"Accessories ({len(accessories)})")
        for a in accessories[:LIST_LIMIT]:
            text.append(f"  {repo.kind_of(a)} ")
            text.append(short_hex(a) + "\n", "dim")
        if len(accessories) > LIST_LIMIT:
            text.append(f"  and {len(accessories) - LIST_LIMIT} more\n", "dim")

    elsewhere = [name for name, r in registry.repositories.items() if name != repo.name and digest in r.artifacts]
    if elsewhere:
        _heading(text, "Same digest also in")
        for name in elsewhere[:LIST_LIMIT]:
            text.append("  " + literal(name) + "\n")
        text.append("  (separate artifacts: deleting one leaves the others)\n", "dim")
    return text


def _jump_line(text: Text, repo: Repository, digest: str, jump_targets: list[ArtifactKey]) -> None:
    jump_targets.append((repo.name, digest))
    n = len(jump_targets)
    key = f"[{n}]" if n <= 9 else "   "
    text.append(f"  {key} ", "bold")
    artifact = repo.artifacts.get(digest)
    tags = artifact.plain_tags if artifact else []
    text.append(f"{repo.kind_of(digest)} ")
    text.append(literal(shown_tags(tags)) if tags else "(untagged)", "bold" if tags else "italic")
    text.append(f"\n      {short_hex(digest)}\n", "dim")


def _jump_hint(repo: Repository, jump_targets: list[ArtifactKey]) -> str:
    n = min(len(jump_targets), 9)
    keys = "1" if n == 1 else f"1-{n}"
    return f"  in {literal(repo.name)}\n  {keys} jumps there, p to the next\n"


class DetailsPane(VerticalScroll, can_focus=True):
    """Tab moves the focus here from the tree (and back); then the arrows, j/k and
    PageUp/PageDown scroll it, so a long list below the screen's edge can be read."""

    BINDINGS = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("tab", "app.focus_next", "Tree", tooltip="Back to the tree", id="details.tree"),
    ]

    def compose(self):
        yield Static(id="details-body")
        # The digest alone in its own widget: a double click selects exactly it (ctrl+c copies).
        yield Static(id="details-digest")
        yield Static(id="details-rest")

    def show(self, content: Text, digest: str | None = None) -> None:
        head, rest = content, Text()
        lines = content.split("\n", allow_blank=True)
        at = next((i for i, line in enumerate(lines) if digest and line.plain == digest), None)
        if at is not None:
            head = Text("\n").join(lines[:at])
            rest = Text("\n").join(lines[at + 1 :])
        self.query_one("#details-body", Static).update(head)
        digest_line = self.query_one("#details-digest", Static)
        digest_line.display = at is not None
        digest_line.update(digest if at is not None and digest else "")
        tail = self.query_one("#details-rest", Static)
        tail.display = at is not None
        tail.update(rest)
        self.scroll_home(animate=False)
