"""Leftovers (`L`): each group with its count and size; Enter marks a whole group."""

from __future__ import annotations

from typing import cast

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ocitree.core.leftovers import LeftoverGroup, LeftoverKind

from ..plan_text import human_bytes
from .dialog import DialogScreen

API_NOTE = ("A live registry's API lists manifests only through tags and indexes: untagged manifests "
            "that no index lists are invisible here.")


class LeftoversScreen(DialogScreen[LeftoverKind | None]):
    DEFAULT_CSS = """
    LeftoversScreen OptionList { height: auto; max-height: 8; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Close", id="leftovers.close"),
        Binding("enter", "mark", "Mark group", id="leftovers.mark"),
    ]
    AUTO_FOCUS = "OptionList"

    def __init__(self, groups: list[LeftoverGroup], sees_untagged: bool = True) -> None:
        super().__init__()
        self.groups = groups
        self.sees_untagged = sees_untagged

    def dialog_title(self) -> Text:
        return Text("Leftovers", "bold")

    def dialog_keys(self) -> str:
        return "up/down choose   Enter mark   Esc close"

    def dialog_body(self) -> Widget:
        options = []
        for g in self.groups:
            markable = bool(g.artifacts)
            label = Text(f"{g.count:>7}  {human_bytes(g.size):>10}  {g.title}")
            if g.blobs and not g.artifacts:
                label.append("  (removed by the next delete in that layout)", "dim")
            options.append(Option(label, id=g.kind, disabled=not markable))
        note = Text("Enter marks a whole group; Delete then shows the one plan.", "dim")
        if not self.sees_untagged:
            note.append("\n" + API_NOTE)
        return Vertical(OptionList(*options), Static(note))

    def action_mark(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return
        option = options.get_option_at_index(options.highlighted)
        if not option.disabled:
            self.dismiss(_kind(option))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(_kind(event.option))

    def action_cancel(self) -> None:
        self.dismiss(None)


def _kind(option: Option) -> LeftoverKind | None:
    """The group an option stands for: compose() gives each the group's kind as its id (which
    Textual types as any string)."""
    return cast("LeftoverKind | None", option.id)
