"""Pilot tests of the TUI: what an operator does, and what the store holds afterwards."""

from __future__ import annotations

from ocitree.core.model import Artifact, ChildRef, PlatformInfo, Registry, Repository
from ocitree.core import media_types as mt
from ocitree.core.stores.sample import SampleStore
from ocitree.tui.app import OcitreeApp
from ocitree.tui.plan_text import human_bytes
from ocitree.tui.screens.confirm import ConfirmDeleteScreen
from ocitree.tui.screens.help import HelpScreen
from ocitree.tui.screens.main import MainScreen
from ocitree.tui.screens.refusal import RefusalScreen
from ocitree.tui.widgets.registry_tree import RegistryTree

from tests.helpers.tui_pilot import (MemoryStore, artifact_count, children_of, demo_app, digest_of, press, screen_text, settle, stored, type_text, until,
                        visible_strips)

BASE = "platform/base-images"


async def go_to(pilot, query: str) -> None:
    """Use the `/` filter to put the cursor on the first match."""
    await press(pilot, "slash")
    await type_text(pilot, query)
    await press(pilot, "enter")


def cursor_key(app: OcitreeApp):
    entry = app.main_screen.registry_tree.cursor_entry
    return entry.key if entry is not None else None


def notifications(app: OcitreeApp) -> list[str]:
    """Every toast the app showed, expired or not (a toast lasts seconds; a busy machine is slow)."""
    return [str(m) for m in getattr(app, "notified", [])]


def row_of(app: OcitreeApp, key) -> str:
    """The plain text of the first row showing an artifact."""
    tree = app.main_screen.registry_tree
    node = tree.nodes_of(key)[0]
    return tree.render_label(node, tree.rich_style, tree.rich_style).plain


async def test_index_of_ten_deletes_nine_children_and_keeps_the_shared_one(tmp_path):
    app, path = demo_app(tmp_path)
    index = digest_of(path, BASE, "v2.4")
    slim = digest_of(path, BASE, "v2.4-slim")
    children = children_of(path, BASE, index)
    shared = children_of(path, BASE, slim)[0]
    assert len(children) == 10 and shared in children
    before = stored(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        assert cursor_key(app) == (BASE, index)
        assert "deletes 10, keeps" in screen_text(app)  # the preview in the details pane
        await press(pilot, "d")
        assert isinstance(app.screen, ConfirmDeleteScreen)
        text = screen_text(app)
        assert "Delete 10 artifacts?" in text and "deletes 10, keeps 1 shared" in text
        assert app.screen.focused.id == "cancel"  # a stray Enter cancels
        plan = app.screen.plan
        assert [(k.digest, k.reason) for k in plan.keep] == [(shared, "shared")]
        await press(pilot, "y")
        assert not isinstance(app.screen, ConfirmDeleteScreen)
        assert notifications(app) == ["Deleted 10 artifacts and 1 tag; kept 1 shared. "
                                      f"{human_bytes(plan.reclaimable_bytes)} reclaimable by garbage collection."]
        # The store changed exactly as planned: the index and its 9 unshared children.
        after = stored(path)
        gone = set(before[BASE]) - set(after[BASE])
        assert gone == {index} | (set(children) - {shared})
        assert {r: e for r, e in after.items() if r != BASE} == {r: e for r, e in before.items() if r != BASE}
        # The tree updated in place: the index is gone, the kept child is no longer shared.
        assert app.main_screen.registry_tree.nodes_of((BASE, index)) == []
        total = sum(len(entries) for entries in before.values())
        assert f"{total} artifacts" not in screen_text(app) and f"{total - 10} artifacts" in screen_text(app)
        await go_to(pilot, "v2.4-slim")
        await press(pilot, "enter", "down")
        assert cursor_key(app) == (BASE, shared)
        assert "shared x" not in row_of(app, (BASE, shared))


async def test_cursor_lands_on_a_neighbour_after_deleting(tmp_path):
    app, path = demo_app(tmp_path)
    index = digest_of(path, BASE, "v2.4")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        await press(pilot, "enter")  # expanded, so its children's rows go too
        await press(pilot, "d", "y")
        assert cursor_key(app) == (BASE, digest_of(path, BASE, "v2.4-slim"))
        assert (BASE, index) not in [n.data.key for n in app.main_screen.registry_tree.root.children]


async def test_cancel_changes_nothing(tmp_path):
    app, path = demo_app(tmp_path)
    before = path.read_bytes()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        for cancel in ("n", "escape"):
            await press(pilot, "d")
            assert isinstance(app.screen, ConfirmDeleteScreen)
            await press(pilot, cancel)
            assert not isinstance(app.screen, ConfirmDeleteScreen)
        await press(pilot, "d", "enter")  # Cancel has the focus
        assert not isinstance(app.screen, ConfirmDeleteScreen)
        assert notifications(app) == ["Cancelled: nothing was deleted."] * 3
        assert app.main_screen.registry_tree.nodes_of((BASE, digest_of(path, BASE, "v2.4")))
    assert path.read_bytes() == before


async def test_refused_child_names_its_parents_and_jumps_to_the_first(tmp_path):
    app, path = demo_app(tmp_path)
    index = digest_of(path, BASE, "v2.4")
    slim = digest_of(path, BASE, "v2.4-slim")
    shared = children_of(path, BASE, slim)[0]
    before = path.read_bytes()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        await press(pilot, "enter", "down")
        assert cursor_key(app) == (BASE, shared)
        text = screen_text(app)
        assert "shared x2" in text and "referenced by 2 indexes" in text
        await press(pilot, "d")
        assert isinstance(app.screen, RefusalScreen)
        text = screen_text(app)
        assert "Refused: nothing will be deleted" in text
        assert f"{BASE}:v2.4 (sha256:{index[7:19]})" in text
        assert f"{BASE}:v2.4-slim (sha256:{slim[7:19]})" in text
        await press(pilot, "g")
        assert not isinstance(app.screen, RefusalScreen)
        assert cursor_key(app) == (BASE, index)
    assert path.read_bytes() == before


async def test_parents_of_a_shared_child_are_listed_and_reachable(tmp_path):
    app, path = demo_app(tmp_path)
    index = digest_of(path, BASE, "v2.4")
    slim = digest_of(path, BASE, "v2.4-slim")
    shared = children_of(path, BASE, slim)[0]
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4-slim")
        await press(pilot, "enter")  # both parents expanded: the child shows twice
        await go_to(pilot, "v2.4")
        await press(pilot, "enter", "down")
        assert cursor_key(app) == (BASE, shared)
        # Its other appearance (under v2.4-slim) carries the [same] marker; this row does not.
        rows = app.main_screen.registry_tree.nodes_of((BASE, shared))
        assert len(rows) == 2
        labels = [app.main_screen.registry_tree.render_label(n, app.main_screen.registry_tree.rich_style, app.main_screen.registry_tree.rich_style).plain for n in rows]
        assert [label.startswith("[same]") for label in labels].count(True) == 1
        text = screen_text(app)
        assert "Parents (2, shared x2)" in text and "[1] index v2.4" in text and "[2] index v2.4-slim" in text
        await press(pilot, "2")
        assert cursor_key(app) == (BASE, slim)
        await go_to(pilot, "v2.4")
        await press(pilot, "down")
        await press(pilot, "p")
        assert cursor_key(app) == (BASE, index)
        await press(pilot, "p")
        assert cursor_key(app) == (BASE, slim)


async def test_bulk_delete_of_two_indexes_sharing_a_child_takes_the_child(tmp_path):
    app, path = demo_app(tmp_path)
    index = digest_of(path, BASE, "v2.4")
    slim = digest_of(path, BASE, "v2.4-slim")
    children = set(children_of(path, BASE, index))
    before = stored(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        await press(pilot, "space")
        await go_to(pilot, "v2.4-slim")
        await press(pilot, "space")
        assert list(app.main_screen.registry_tree.marked) == [(BASE, index), (BASE, slim)]
        assert "2 marked" in screen_text(app)
        assert row_of(app, (BASE, slim)).startswith("▶ [x] v2.4-slim")
        await press(pilot, "d")
        assert isinstance(app.screen, ConfirmDeleteScreen)
        plan = app.screen.plan
        assert plan.keep == [] and "Delete 12 artifacts" in screen_text(app)
        await press(pilot, "y")
    after = stored(path)
    assert set(before[BASE]) - set(after[BASE]) == {index, slim} | children


async def test_filter_finds_repositories_tags_and_digest_prefixes(tmp_path):
    app, path = demo_app(tmp_path)
    slim = digest_of(path, BASE, "v2.4-slim")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, slim[7:15])  # a bare digest prefix
        assert cursor_key(app) == (BASE, slim)
        await press(pilot, "escape")
        await go_to(pilot, "sha256:" + slim[7:10])  # with the algorithm, any length
        assert cursor_key(app) == (BASE, slim)
        await press(pilot, "escape")
        await go_to(pilot, "busybox")
        assert "match 1 of 2" in screen_text(app)  # two repository names
        entry = app.main_screen.registry_tree.cursor_entry
        assert (entry.kind, entry.repository) == ("repository", "mirror/busybox")
        await press(pilot, "n")
        assert "match 2 of" in screen_text(app)
        await press(pilot, "N", "N")
        assert f"match {len(app.main_screen.matches)} of" in screen_text(app)  # wraps around
        await press(pilot, "escape")
        assert "match" not in screen_text(app).splitlines()[-2]
        assert not app.main_screen.matches
        await go_to(pilot, "no-such-thing")
        assert "no match for 'no-such-thing'" in screen_text(app)


async def test_filter_jump_expands_the_path_to_a_nested_child(tmp_path):
    app, path = demo_app(tmp_path)
    outer = digest_of(path, "ml/inference", "2026.11")
    gpu = digest_of(path, "ml/inference", "gpu")
    gpu_child = children_of(path, "ml/inference", gpu)[0]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, gpu_child[7:19])
        assert cursor_key(app) == ("ml/inference", gpu_child)
        node = app.main_screen.registry_tree.cursor_node
        assert [a.data.digest for a in (node.parent, node.parent.parent)] == [gpu, outer]
        assert node.parent.is_expanded and node.parent.parent.is_expanded


async def test_read_only_never_deletes_and_d_previews_the_whole_plan(tmp_path):
    app, path = demo_app(tmp_path, read_only=True)
    before = path.read_bytes()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "READ-ONLY" in text.splitlines()[0]
        footer = text.splitlines()[-1]
        assert "Delete" not in footer and "d Preview" in footer  # the footer lists only keys that work
        await go_to(pilot, "v2.4")
        assert "deletes 10" in screen_text(app)  # the row's preview still says what it would do
        for key in ("d", "delete"):
            await press(pilot, key)
            assert isinstance(app.screen, ConfirmDeleteScreen) and app.screen.read_only
            text = screen_text(app)
            assert "Read-only preview: deleting would take 10 artifacts" in text
            assert "Will stay (1)" in app.screen.query_one("#dialog-body").plain  # the whole plan
            assert "Delete 10 artifacts" not in text  # no Delete button
            assert text.splitlines()[-1].split() == ["n", "Close"]  # no y
            await press(pilot, "y")  # does nothing
            assert isinstance(app.screen, ConfirmDeleteScreen)
            await press(pilot, "escape")
            assert len(app.screen_stack) == 1
        await press(pilot, "space", "d")
        assert isinstance(app.screen, ConfirmDeleteScreen) and app.screen.read_only
        await press(pilot, "enter")  # Close has the focus
        assert len(app.screen_stack) == 1
    assert path.read_bytes() == before


async def test_read_only_store_turns_deleting_off(tmp_path):
    app, path = demo_app(tmp_path)
    app.store.read_only = True
    app.read_only = app.store.read_only  # as OcitreeApp does from store.read_only at start
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "READ-ONLY" in screen_text(app)


def _hostile_registry() -> Registry:
    child = Artifact("evil/repo", "sha256:" + "b" * 64, mt.OCI_MANIFEST, 500, config_media_type=mt.OCI_CONFIG,
                     tags=["\x1b[31mred\x1b[0m"], annotations={"[bold red]x[/]": "\x1b]0;pwned\x07[link=http://x]y[/link]"})
    index = Artifact("evil/repo", "sha256:" + "a" * 64, mt.OCI_INDEX, 300,
                     children=(ChildRef(child.digest, mt.OCI_MANIFEST, 500, PlatformInfo("linux", "[blink]amd64[/]")),),
                     tags=["[bold red]x[/]"], annotations={"note": "[reverse]inverted[/reverse]"})
    return Registry("[b]source[/b]", [Repository("evil/repo", [index, child])])


async def test_registry_strings_render_literally():
    app = OcitreeApp(MemoryStore(_hostile_registry(), source="[b]source[/b]\x1b[2J"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "down")
        text = screen_text(app)
        assert "[b]source[/b]\\x1b[2J" in text
        assert "[bold red]x[/]" in text  # the tag, in the tree and the details pane
        assert "[reverse]inverted[/reverse]" in text
        await press(pilot, "enter", "down")
        text = screen_text(app)
        assert "linux/[blink]amd64[/]" in text
        assert "\\x1b[31mred\\x1b[0m" in text
        assert "\\x1b]0;pwned\\x07" in text and "[link=http://x]y[/link]" in text
        # No control character reaches the terminal from any line of the screen.
        for strip in visible_strips(app):
            assert "\x1b" not in strip.text and "\x07" not in strip.text


async def test_markers_are_words_with_no_color(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.no_color
        await go_to(pilot, "v2.4")
        await press(pilot, "space", "enter")
        text = screen_text(app)
        assert "[x] v2.4 index of 10" in text
        assert "shared x2 linux/amd64" in text
        await go_to(pilot, "1.8.0-hotfix")
        assert "protected release-2026-11" in screen_text(app)
        # Nothing is coloured, not even black on black: text keeps the terminal's own colours.
        colours = {
            (seg.style.color, seg.style.bgcolor)
            for strip in visible_strips(app)
            for seg in strip
            if seg.style is not None
        }
        assert all((c is None or c.is_default) and (b is None or b.is_default) for c, b in colours), colours


async def test_untagged_accessories_and_missing_children_are_shown(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await go_to(pilot, "payments/api")
        await press(pilot, "enter")
        text = screen_text(app)
        assert "untagged image" in text
        await go_to(pilot, "1.8.0")
        await press(pilot, "enter")
        index = app.main_screen.registry_tree.cursor_node
        rows = [app.main_screen.registry_tree.render_label(n, app.main_screen.registry_tree.rich_style, app.main_screen.registry_tree.rich_style).plain for n in index.children]
        assert [row.lstrip("▶ ").split()[0] for row in rows] == ["linux/amd64", "linux/arm64/v8", "signature", "sbom", "attestation"]
        await go_to(pilot, "3.2")
        await press(pilot, "enter")
        assert "missing linux/s390x 555555555555" in screen_text(app)


async def test_help_lists_every_key(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(100, 60)) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark")
        text = screen_text(app)
        for binding in [*MainScreen.BINDINGS, *OcitreeApp.BINDINGS, *RegistryTree.BINDINGS]:
            key = {"slash": "/", "question_mark": "?", "delete": "Delete", "escape": "Esc", "pageup": "PageUp",
                   "pagedown": "PageDown", "home": "Home", "end": "End", "enter": "Enter", "tab": "Tab"}.get(binding.key, binding.key)
            if binding.key.isdigit():
                key = "1-9"
            assert key in text, binding.key
        await press(pilot, "escape")
        assert len(app.screen_stack) == 1


async def test_command_palette_offers_the_main_actions(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Delete", "Mark or unmark", "Filter", "Go to parent", "Reload", "Keys"):
            assert title in titles
        await press(pilot, "ctrl+p")
        await type_text(pilot, "Keys")
        await until(pilot, lambda: "Show every key" in screen_text(app))  # the palette searches in a task
        await press(pilot, "enter")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "Move up" in screen_text(app)


async def test_reload_reads_the_source_again_and_keeps_the_cursor(tmp_path):
    app, path = demo_app(tmp_path)
    index = digest_of(path, BASE, "v2.4")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        # Another process deletes from the same file meanwhile.
        other = SampleStore(path)
        from ocitree.core.executor import execute_plan
        from ocitree.core.planner import plan_deletion, resolve_targets

        registry = other.load()
        execute_plan(plan_deletion(registry, resolve_targets(registry, ["tools/busybox:1.36"])), other)
        await press(pilot, "r")
        assert f"{artifact_count(path)} artifacts" in screen_text(app)
        assert cursor_key(app) == (BASE, index)


async def test_stale_plan_is_refused_by_the_executor_and_nothing_is_deleted(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        await press(pilot, "d")
        # The registry changes between the preview and the confirmation.
        other = SampleStore(path)
        from ocitree.core.executor import execute_plan
        from ocitree.core.planner import plan_deletion, resolve_targets

        registry = other.load()
        execute_plan(plan_deletion(registry, resolve_targets(registry, [f"{BASE}:v2.4-slim"])), other)
        before = path.read_bytes()
        await press(pilot, "y")
        text = screen_text(app)
        assert "Nothing was deleted" in text and "changed since the plan was made" in text
        assert path.read_bytes() == before
        await press(pilot, "r")  # reload from the error screen
        assert f"{artifact_count(path)} artifacts" in screen_text(app)


async def test_load_failure_says_what_to_do(tmp_path):
    store = SampleStore(tmp_path / "nope.json")
    app = OcitreeApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Cannot load" in text and "no such file" in text
        await press(pilot, "q")
    assert app.return_code == 2


async def test_a_failure_part_way_says_what_was_deleted_and_what_was_not(tmp_path):
    from ocitree.tui.screens.error import ErrorScreen

    from tests.helpers.immediate_store import ImmediateStore
    from tests.helpers.tui_pilot import demo_copy

    path = demo_copy(tmp_path)
    index = digest_of(path, BASE, "v2.4")
    children = children_of(path, BASE, index)
    store = ImmediateStore(path, source="flaky-registry", fail_on=children[3])  # the index and 2 children go first
    app = OcitreeApp(store)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        await press(pilot, "d", "y")
        assert isinstance(app.screen, ErrorScreen)
        text = screen_text(app)
        assert "The deletion stopped part way" in text and "connection reset by peer" in text
        assert "Deleted (3)" in text and "Not deleted (7)" in text
        assert store.gone == {(BASE, index), (BASE, children[1]), (BASE, children[2])}
        await press(pilot, "escape")
        # The tree shows what is really left: the index is gone, its remaining children are
        # now top-level untagged leftovers.
        assert app.main_screen.registry_tree.nodes_of((BASE, index)) == []
        assert f"{artifact_count(path) - len(store.gone)} artifacts" in screen_text(app)  # the file itself is untouched
        await go_to(pilot, children[3][7:19])
        assert app.main_screen.registry_tree.cursor_node.parent.data.kind == "repository"
        assert row_of(app, (BASE, children[3])).startswith("untagged image")


async def test_wide_levels_are_grouped_and_stay_right_after_deleting(tmp_path):
    from ocitree.sample_data.generate import Shape, write_sample

    path = tmp_path / "wide.json"
    write_sample(Shape(repositories=1, indexes=1200, children=1, share=0.0, accessories=0.0, tagged_children=0.0), path)
    app = OcitreeApp(SampleStore(path))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        repo_node = app.main_screen.registry_tree.root.children[0]
        groups = list(repo_node.children)
        assert [g.data.kind for g in groups] == ["group"] * 3
        assert [len(g.data.items) for g in groups] == [500, 500, 200]
        assert all(not g.children for g in groups)  # nothing below a group until it is opened
        # Delete every artifact of the first group, and 10 of the third (never opened).
        doomed = [e.key for e in groups[0].data.items] + [e.key for e in groups[2].data.items[:10]]
        for key in doomed:
            app.main_screen.registry_tree.marked[key] = None
        await press(pilot, "d", "y")
        remaining = list(repo_node.children)
        assert len(remaining) == 2
        assert "500 artifacts" in app.main_screen.registry_tree.render_label(remaining[0], app.main_screen.registry_tree.rich_style, app.main_screen.registry_tree.rich_style).plain
        assert "190 artifacts" in app.main_screen.registry_tree.render_label(remaining[1], app.main_screen.registry_tree.rich_style, app.main_screen.registry_tree.rich_style).plain
        app.main_screen.registry_tree.move_cursor(remaining[1])
        await press(pilot, "enter")
        rows = [n.data.key for n in remaining[1].children]
        assert len(rows) == 190 and not set(rows) & set(doomed)


async def test_closing_a_failed_reload_shows_the_tree_loaded_before(tmp_path):
    app, path = demo_app(tmp_path)
    good = path.read_bytes()
    index = digest_of(path, BASE, "v2.4")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        path.write_text("{not json")  # someone breaks the file while the app runs
        await press(pilot, "r")
        assert "Cannot load" in screen_text(app)
        await press(pilot, "escape")  # Close
        text = screen_text(app)
        assert "Loading" not in text and "v2.4 index of 10" in text
        assert "Reload failed: showing the registry as loaded before. r tries again." in text
        assert app.main_screen.registry_tree.has_focus and cursor_key(app) == (BASE, index)
        path.write_bytes(good)
        await press(pilot, "r")
        text = screen_text(app)
        assert "Reload failed" not in text and f"{artifact_count(path)} artifacts" in text


async def test_a_marked_child_is_named_by_its_platform_in_the_plan(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "multiarch")
        await press(pilot, "space", "enter", "down", "space", "d")  # the index and its ppc64le child
        assert isinstance(app.screen, ConfirmDeleteScreen)
        text = screen_text(app)
        docs = app.main_screen.registry.repositories["harbor/docs-example"]
        ppc64le = next(c.digest for c in docs.artifacts[docs.tags["multiarch"]].children if "ppc64le" in str(c.platform))
        assert f"image linux/ppc64le {ppc64le[7:19]}" in text and "image untagged" not in text


async def test_keys_during_a_deletion_cannot_quit_or_open_the_palette(tmp_path):
    import threading

    from textual.command import CommandPalette

    from ocitree.tui.screens.progress import DeletingScreen

    app, path = demo_app(tmp_path)
    gate = threading.Event()
    open_session = app.store.session

    def slow_session(repositories):
        session = open_session(repositories)
        begin = session.begin

        def held_begin(fresh):
            deletion = begin(fresh)
            delete = deletion.delete

            def held_delete(repository, digest):
                gate.wait(10)
                delete(repository, digest)

            deletion.delete = held_delete
            return deletion

        session.begin = held_begin
        return session

    app.store.session = slow_session
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        await press(pilot, "d")  # the plan is worked out on a worker: its confirmation comes once it is ready
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, DeletingScreen))
        for key in ("ctrl+p", "q", "escape", "d", "r"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, DeletingScreen) and not isinstance(app.screen, CommandPalette)
        assert "^p palette" not in screen_text(app)
        gate.set()
        await settle(pilot)
        assert app.is_running and not app.main_screen.deleting
        assert notifications(app)[-1].startswith("Deleted 10 artifacts")


async def test_the_footer_under_a_dialog_lists_the_dialogs_keys(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        await press(pilot, "d")
        lines = screen_text(app).splitlines()
        assert lines[-1].split() == ["y", "Delete", "n", "Cancel"]  # not the tree's d, / and ?
        assert "Delete 10 artifacts        Cancel" in "\n".join(lines)  # the buttons still fit at 80x24
        await press(pilot, "n", "enter", "down", "d")
        assert screen_text(app).splitlines()[-1].split() == ["g", "Go", "to", "index", "esc", "Close"]
        await press(pilot, "escape", "question_mark")
        assert screen_text(app).splitlines()[-1].split() == ["esc", "Close"]
        await press(pilot, "escape")
        footer = screen_text(app).splitlines()[-1]
        assert "/ Find" in footer and "f Filter" in footer and "? Help" in footer and "q Quit" in footer


async def test_an_accessory_listed_by_a_fallback_referrers_index_is_deleted_and_the_index_rewritten(tmp_path):
    """Issue 7 §6: the confirmation shows the rewrite; afterwards the tree shows the rewritten index."""
    from ocitree.sample_data.builder import RegistryBuilder
    from tests.functional.test_fallback_referrers import R, signed_with_fallback_referrers

    builder = RegistryBuilder()
    image, sbom, signature, referrers, fallback_tag = signed_with_fallback_referrers(builder)
    path = builder.write_sample(tmp_path / "referrers.json")
    app = OcitreeApp(SampleStore(path))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, sbom.digest[7:19])
        assert cursor_key(app) == (R, sbom.digest)
        await press(pilot, "d")
        assert isinstance(app.screen, ConfirmDeleteScreen)
        assert "Delete 1 artifact?" in screen_text(app) and "rewrites 1 referrers index" in screen_text(app)
        await press(pilot, "y")
        await until(pilot, lambda: app.main_screen.registry is not None and sbom.digest not in app.main_screen.registry.repositories[R].artifacts
                    and not app.main_screen.loading_registry)
        repo = app.main_screen.registry.repositories[R]
        assert [c.digest for c in repo.artifacts[repo.tags[fallback_tag]].children] == [signature.digest]
        assert stored(path)[R].keys() == {image.digest, signature.digest, referrers.digest}


async def test_the_footer_follows_the_state_it_depends_on(tmp_path):
    """The keys that work now, and only those: while loading, with a find and after Esc."""
    import threading

    from ocitree.core.stores.sample import SampleStore as Sample

    released = threading.Event()

    class HeldStore(Sample):
        def load(self, progress=None):
            released.wait(30)
            return super().load(progress)

    path = tmp_path / "demo.json"
    path.write_bytes(demo_app(tmp_path)[1].read_bytes())
    app = OcitreeApp(HeldStore(path))

    def footer() -> str:
        return screen_text(app).splitlines()[-1]

    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Loading" in screen_text(app))
        assert "r Reload" not in footer() and "/ Find" not in footer() and "d Delete" not in footer()
        released.set()
        await until(pilot, lambda: "d Delete" in footer())
        await settle(pilot)
        assert "/ Find" in footer() and "r Reload" in footer() and "n Next" not in footer()
        await go_to(pilot, "v2.4")
        assert "n Next" in footer()
        await press(pilot, "escape")
        assert "n Next" not in footer() and "d Delete" in footer()
