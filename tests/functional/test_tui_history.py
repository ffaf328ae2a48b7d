"""The TUI's history (`H`) and undo (`z`): a deletion put back from inside the TUI, the tree updated."""

from __future__ import annotations

from ocitree.core.names import short_digest
from ocitree.tui.screens.confirm import ConfirmDeleteScreen
from ocitree.tui.screens.history import ConfirmUndoScreen, HistoryScreen

from .test_tui_flows import cursor_key, go_to, notifications
from tests.helpers.tui_pilot import children_of, demo_app, digest_of, press, screen_text, settle, stored, until

BASE = "platform/base-images"


async def delete_v2_4(pilot) -> None:
    """The index v2.4 and its nine unshared children deleted through the TUI, as an operator does."""
    await settle(pilot)
    await go_to(pilot, "v2.4")
    await press(pilot, "d", "y")


async def test_history_shows_the_deletion_and_z_undoes_it_in_place(tmp_path):
    app, path = demo_app(tmp_path)
    index = digest_of(path, BASE, "v2.4")
    children = children_of(path, BASE, index)
    before = stored(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "H")
        assert isinstance(app.screen, HistoryScreen)
        await until(pilot, lambda: "No run of ocitree on this source" in screen_text(app))
        await press(pilot, "escape")

        await go_to(pilot, "v2.4")
        assert cursor_key(app) == (BASE, index)
        await press(pilot, "d", "y")
        assert stored(path) != before

        await press(pilot, "H")
        assert isinstance(app.screen, HistoryScreen)
        await until(pilot, lambda: "deleted 10 (completed), can be undone" in screen_text(app))
        assert app.screen.runs[0].targets == [f"{BASE}@{index}"]
        await press(pilot, "enter")
        await until(pilot, lambda: f"deleted {BASE}@{short_digest(children[1])}" in screen_text(app))  # one line each
        await press(pilot, "escape")
        assert isinstance(app.screen, HistoryScreen)

        await press(pilot, "u")  # u unmarks in the tree; here it undoes nothing
        assert isinstance(app.screen, HistoryScreen) and stored(path) != before
        await press(pilot, "z")
        assert isinstance(app.screen, ConfirmUndoScreen) and isinstance(app.screen, ConfirmDeleteScreen)
        await until(pilot, lambda: "Restore 10 artifacts?" in screen_text(app))
        assert "bottom-up, tags last" in screen_text(app)
        assert app.screen.focused.id == "cancel"  # as for Delete, a stray Enter cancels
        await press(pilot, "y")
        await settle(pilot)
        assert stored(path) == before
        assert any("Restored 10 artifacts" in n for n in notifications(app))
        assert app.main_screen.registry_tree.nodes_of((BASE, index))  # the tree shows it again

        await press(pilot, "H")
        await until(pilot, lambda: "undo of" in screen_text(app))
        assert "undone" in screen_text(app)


async def test_cancelling_the_undo_writes_nothing(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await delete_v2_4(pilot)
        after_delete = stored(path)
        await press(pilot, "H", "z")
        assert isinstance(app.screen, ConfirmUndoScreen)
        await press(pilot, "n")
        assert stored(path) == after_delete
        assert "Cancelled: nothing was restored." in notifications(app)


async def test_an_undo_the_source_now_contradicts_is_refused_with_nothing_written(tmp_path):
    import json

    from ocitree.tui.screens.error import ErrorScreen

    app, path = demo_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await delete_v2_4(pilot)
        doc = json.loads(path.read_text())  # another tool gives v2.4 to another artifact meanwhile
        entry = next(e for e in doc["repositories"][BASE] if e.get("tags"))
        entry["tags"].append("v2.4")
        path.write_text(json.dumps(doc))
        moved = stored(path)
        await press(pilot, "H", "z")
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen))
        await until(pilot, lambda: "Undo refused" in screen_text(app))
        text = " ".join(screen_text(app).split())
        assert "v2.4 now names" in text and "--retag" in text, text
        assert stored(path) == moved


async def test_an_undo_puts_the_rows_back_in_place_without_reading_the_source_again(tmp_path, monkeypatch):
    from ocitree.core.reclaim import _count_shared
    from ocitree.core.stores.sample import SampleStore
    from tests.helpers.registry_maps import derived_maps

    app, path = demo_app(tmp_path)
    index = digest_of(path, BASE, "v2.4")
    children = children_of(path, BASE, index)
    kept = digest_of(path, BASE, "v2.3")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        store = app.main_screen.ocitree.store
        loads: list[object] = []
        read = store.load
        monkeypatch.setattr(store, "load", lambda *args, **kwargs: (loads.append(args), read(*args, **kwargs))[1])
        tree = app.main_screen.registry_tree

        await go_to(pilot, "v2.4")
        await press(pilot, "d", "y")
        assert not tree.nodes_of((BASE, index))
        await go_to(pilot, "v2.3")
        await press(pilot, "right")  # the row stays open across the undo
        assert cursor_key(app) == (BASE, kept) and tree.cursor_node.is_expanded

        await press(pilot, "H", "z")
        assert isinstance(app.screen, ConfirmUndoScreen)
        await press(pilot, "y")
        await settle(pilot)
        assert any("Restored 10 artifacts" in n for n in notifications(app))
        assert loads == []  # neither planning nor showing the undo read the whole source
        assert cursor_key(app) == (BASE, kept) and tree.cursor_node.is_expanded
        assert "v2.4" in screen_text(app)

        # What the screen holds now is what reading the file afresh gives.
        shown = app.main_screen.registry
        fresh = SampleStore(path).load()
        if shown.shared_digests is not None:
            fresh.shared_digests = _count_shared(fresh)
        assert derived_maps(shown) == derived_maps(fresh)

        await go_to(pilot, "v2.4")
        await press(pilot, "right")
        node = tree.cursor_node
        assert cursor_key(app) == (BASE, index) and node.is_expanded
        below = [child.data.digest for child in node.children]
        assert set(children) <= set(below)
        assert loads == []


async def test_the_cursor_follows_an_artifact_the_undo_puts_back_under_its_index(tmp_path):
    app, path = demo_app(tmp_path)
    index = digest_of(path, BASE, "v2.3")
    child = digest_of(path, BASE, "v2.3-amd64")  # tagged: deleting v2.3 keeps it, at the top
    async with app.run_test(size=(100, 40)) as pilot:
        tree = app.main_screen.registry_tree
        await settle(pilot)
        await go_to(pilot, "v2.3")
        assert cursor_key(app) == (BASE, index)
        await press(pilot, "d", "y")
        await go_to(pilot, "v2.3-amd64")
        assert cursor_key(app) == (BASE, child) and tree.cursor_node.parent.data.kind == "repository"

        await press(pilot, "H", "z", "y")
        await settle(pilot)
        node = tree.cursor_node
        assert cursor_key(app) == (BASE, child)
        assert node.parent.data.key == (BASE, index)  # under v2.3 again, opened to show it
