"""`?`: every key, read from the bindings themselves so the list cannot drift: each binding
with a tooltip is a row, and bindings with the same tooltip share one."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from .dialog import DialogScreen

KeySection = tuple[str, list[tuple[str, str]]]

KEY_NAMES = {
    "slash": "/",
    "question_mark": "?",
    "delete": "Delete",
    "escape": "Esc",
    "enter": "Enter",
    "tab": "Tab",
    "pageup": "PageUp",
    "pagedown": "PageDown",
    "home": "Home",
    "end": "End",
}


def binding_rows(bindings: list[BindingType]) -> list[tuple[str, str]]:
    """(keys, tooltip) for every binding with a tooltip, in order; `1, 2, ... 9` reads `1-9`."""
    keys_of: dict[str, list[str]] = {}
    for binding in bindings:
        if isinstance(binding, Binding) and binding.tooltip:
            keys_of.setdefault(binding.tooltip, []).append(KEY_NAMES.get(binding.key, binding.key))
    return [(_keys_text(keys), tooltip) for tooltip, keys in keys_of.items()]


def _keys_text(keys: list[str]) -> str:
    if len(keys) > 2 and all(k.isdigit() for k in keys):
        return f"{keys[0]}-{keys[-1]}"
    return ", ".join(keys)


def help_text(sections: list[KeySection]) -> Group:
    parts: list = []
    for title, rows in sections:
        parts.append(Text(title, "bold underline"))
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True, style="bold")
        table.add_column(ratio=1)
        for keys, description in rows:
            table.add_row("  " + keys, description)
        parts.append(table)
        parts.append(Text())
    parts.append(
        Text(
            "Markers: [x] marked for deletion; shared xN: listed by N indexes; [same]: the artifact "
            "under the cursor, shown under another parent; untagged; protected: a protection rule "
            "matches a tag; missing: listed by an index, absent from the repository; orphaned: an "
            "accessory whose subject is gone; READ-ONLY in the header: deleting is off. Sizes: "
            "manifest (its own) and total (everything it references, each blob once). The filter "
            "(f) matches these markers too, and kinds, platforms, tags, digests and repositories.",
            "dim",
        )
    )
    return Group(*parts)


class HelpScreen(DialogScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("question_mark", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, sections: list[KeySection]) -> None:
        super().__init__()
        self.sections = sections

    FRAME = "help"

    def dialog_title(self) -> Text:
        return Text("Keys", "bold")

    def dialog_body(self) -> Widget:
        return VerticalScroll(Static(help_text(self.sections), id="help-text"), can_focus=False)

    def dialog_keys(self) -> str:
        return "Esc, ? or q close"

    def action_close(self) -> None:
        self.dismiss(None)
