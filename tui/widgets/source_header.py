"""The header line: source, counts, marks, read-only badge.

The counts and the badge always show; a source too long for the line loses its beginning
(the end of a path or URL is the part that tells sources apart)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

from ocitree.core.model import Registry

from ..literal import literal
from ..plan_text import reclaimable_now


@dataclass
class HeaderState:
    source: str
    registry: Registry | None = None
    read_only: bool = False
    marked: int = 0
    loading: bool = False
    read_only_reason: str | None = None  # shown after the badge when the source says why
    order: str = "name"
    filter_text: str = ""
    filter_counts: tuple[int, int] | None = None  # (matching, of all) artifacts


def status_text(state: HeaderState) -> Text:
    text = Text()
    if state.loading:
        text.append("  loading...")
    elif state.registry is not None:
        repos = len(state.registry.repositories)
        if state.filter_counts is not None:  # instead of the counts: M is the artifact count
            n, m = state.filter_counts
            text.append("  ")
            text.append(f"filter: {literal(state.filter_text)} ({n:,} of {m:,})", "bold")
        else:
            text.append(f"  {repos:,} repositor{'y' if repos == 1 else 'ies'}, {state.registry.artifact_count:,} artifacts")
            reclaimable = reclaimable_now(state.registry)  # registry storage: what garbage-collect frees today
            if reclaimable:
                text.append(f", {reclaimable}")
        text.append(f"  sort: {state.order}")
    if state.marked:
        text.append(f"  {state.marked} marked", "bold")
    if state.read_only:
        text.append("  ")
        text.append(" READ-ONLY ", "reverse bold")
        if state.read_only_reason:
            text.append(f" {literal(state.read_only_reason)}")
    return text


def header_text(state: HeaderState, width: int) -> Text:
    right = status_text(state)
    source = literal(state.source)
    room = max(8, width - len("ocitree ") - right.cell_len - 2)
    if len(source) > room:
        source = "…" + source[-(room - 1) :]
    text = Text(no_wrap=True, overflow="crop")
    text.append("ocitree ", "bold")
    text.append(source)
    text.append_text(right)
    return text


class SourceHeader(Widget):
    DEFAULT_CSS = "SourceHeader { height: 1; }"

    def __init__(self, state: HeaderState, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = state

    def update(self, **changes) -> None:
        for name, value in changes.items():
            setattr(self.state, name, value)
        self.refresh()

    def render(self) -> Text:
        return header_text(self.state, self.content_size.width)
