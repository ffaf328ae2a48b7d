"""Deleting: a progress bar while the executor works in a worker thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, ProgressBar, Static

from ocitree.core.names import short_digest

from ..literal import literal
from .dialog import FRAME_CSS

if TYPE_CHECKING:  # pydantic, which the first screen does without (issue 10)
    from ocitree.core.plan import ArtifactRef


class DeletingScreen(ModalScreen[None]):
    """Has no keys: a deletion against a live registry runs to its end or its first failure.
    The dialogs' frame, with a progress bar and no title, body or buttons of its own."""

    DEFAULT_CSS = FRAME_CSS + """
    #delete-progress {
        margin: 1 0;
    }
    """

    def __init__(self, total: int, source: str) -> None:
        super().__init__()
        self.total = total
        self.source = source

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="progress"):
            yield Static(Text(f"Deleting {self.total} artifact{'s' if self.total != 1 else ''} from {literal(self.source)}", "bold"))
            yield ProgressBar(total=self.total, show_eta=False, id="delete-progress")
            yield Static("checking the source has not changed...", id="delete-step")
        yield Footer(compact=True, show_command_palette=False)  # empty: covers the app's keys, which wait

    def advance(self, done: int, total: int, ref: ArtifactRef) -> None:
        self.query_one(ProgressBar).update(progress=done, total=total)
        self.query_one("#delete-step", Static).update(
            Text(f"deleted {done} of {total}: {literal(ref.repository)}@{short_digest(ref.digest)}")
        )

    def show_step(self, text: str) -> None:
        self.query_one("#delete-step", Static).update(text)
