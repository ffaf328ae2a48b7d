"""The help (`?`) is read from the bindings: a key added with a tooltip is listed, with no list to edit."""

from __future__ import annotations

from textual.binding import Binding

from ocitree.tui.screens.help import binding_rows


def test_bindings_with_the_same_tooltip_share_a_row_and_those_without_are_left_out():
    rows = binding_rows([
        Binding("H", "history", "History", tooltip="What was deleted, from the audit log"),
        Binding("pageup", "page_up", "Page up", tooltip="Move a page"),
        Binding("pagedown", "page_down", "Page down", tooltip="Move a page"),
        Binding("x", "secret", "Secret"),
        *[Binding(str(i), f"jump({i})", f"Parent {i}", tooltip="Go to parent N") for i in range(1, 10)],
        Binding("question_mark", "help", "Help", tooltip="This list of keys"),
    ])
    assert rows == [
        ("H", "What was deleted, from the audit log"),
        ("PageUp, PageDown", "Move a page"),
        ("1-9", "Go to parent N"),
        ("?", "This list of keys"),
    ]
