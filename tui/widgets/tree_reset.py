"""The one place ocitree reaches into Textual's Tree: emptying it without a leak.

`Tree.clear()` (Textual 8.2) replaces the root but leaves every old node in the tree's id map,
`Tree._tree_nodes`, so each reload or rebuild of 100,000 rows would keep the previous rows
alive. The public way, `root.remove_children()`, removes them one by one with a list search
each: quadratic in a level's width. There is no public call that empties the map.
tests/functional/test_tui_textual_internals.py fails if a Textual upgrade renames the map or stops needing this.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Tree


def clear_tree(tree: Tree[Any]) -> None:
    """Remove every node under the root, forgetting them for good."""
    tree._tree_nodes.clear()
    tree.clear()
