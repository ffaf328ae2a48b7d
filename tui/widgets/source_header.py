"""The header line: source, counts, read-only badge, marks."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from core.model import Registry

from ..literal import literal


def header_text(source: str, registry: Registry | None, read_only: bool, marked: int, loading: bool = False) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("ocitree ", "bold")
    text.append(literal(source))
    if loading:
        text.append("  loading...")
    elif registry is not None:
        repos = len(registry.repositories)
        text.append(f"  {repos} repositor{'y' if repos == 1 else 'ies'}, {registry.artifact_count} artifacts")
    if marked:
        text.append(f"  {marked} marked", "bold")
    if read_only:
        text.append("  ")
        text.append(" READ-ONLY ", "reverse bold")
    return text


class SourceHeader(Static):
    pass
