"""Where ocitree leans on a private part of Textual's Tree, an upgrade that changes it fails here
instead of silently leaking nodes or slowing every expansion (tui/widgets/tree_reset.py and
RegistryTree._invalidate). The crash report's hook is held by tests/functional/test_tui_crash.py."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Tree
from textual.widgets.tree import UnknownNodeID

from ocitree.tui.widgets.tree_reset import clear_tree


class Counting(Tree[None]):
    def __init__(self) -> None:
        super().__init__("root")
        self.invalidations = 0

    def _invalidate(self) -> None:
        self.invalidations += 1
        super()._invalidate()


class OneTree(App[None]):
    def compose(self) -> ComposeResult:
        yield Counting()


async def test_clear_tree_forgets_the_nodes_that_tree_clear_keeps():
    async with OneTree().run_test() as pilot:
        tree = pilot.app.query_one(Counting)
        kept = tree.root.add("a").add_leaf("b")
        tree.clear()
        # Still known after Tree.clear(): the reason for the wrapper (drop it once this fails).
        assert tree.get_node_by_id(kept.id) is kept
        gone = tree.root.add("c").add_leaf("d")
        clear_tree(tree)
        for node in (kept, gone):
            with pytest.raises(UnknownNodeID):
                tree.get_node_by_id(node.id)
        assert not tree.root.children


async def test_adding_a_node_goes_through_the_invalidation_registry_tree_batches():
    async with OneTree().run_test() as pilot:
        tree = pilot.app.query_one(Counting)
        before = tree.invalidations
        tree.root.add_leaf("a")
        assert tree.invalidations > before
