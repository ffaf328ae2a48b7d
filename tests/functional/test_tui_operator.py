"""Pilot tests of what an operator keeps the TUI open for (issue 11): copy, find and filter,
sort, vim keys, a focusable details pane, narrow terminals, sizes, ctrl+c."""

from __future__ import annotations

import threading

import pytest

from ocitree.core.stores.sample import SampleStore
from ocitree.core.sizes import total_size
from ocitree.tui.app import OcitreeApp
from ocitree.tui.plan_text import human_bytes
from ocitree.tui.screens.confirm import ConfirmDeleteScreen
from ocitree.tui.screens.progress import DeletingScreen
from ocitree.tui.screens.quit import QuitDuringDeletionScreen
from ocitree.tui.screens.refusal import RefusalScreen
from ocitree.tui.widgets.details import DetailsPane
from ocitree.tui.widgets.registry_tree import RegistryTree

from .test_tui_flows import BASE, cursor_key, go_to, notifications, row_of
from tests.helpers.tui_pilot import artifact_count, children_of, demo_app, digest_of, press, screen_text, settle, stored, type_text, until


def header(app: OcitreeApp) -> str:
    return screen_text(app).splitlines()[0]


def shown_rows(app: OcitreeApp) -> list[str]:
    """The plain text of every row the tree has created under expanded nodes."""
    tree = app.main_screen.registry_tree
    out = []
    stack = list(reversed(tree.root.children))
    while stack:
        node = stack.pop()
        out.append(tree.render_label(node, tree.rich_style, tree.rich_style).plain)
        if node.is_expanded:
            stack.extend(reversed(node.children))
    return out


async def filter_by(pilot, text: str) -> None:
    await press(pilot, "f")
    await type_text(pilot, text)
    await press(pilot, "enter")


# -- copy --------------------------------------------------------------------------------------


async def test_c_copies_the_full_reference_and_says_what(tmp_path):
    app, path = demo_app(tmp_path)
    index = digest_of(path, BASE, "v2.4")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await press(pilot, "c")  # on a repository row: its name
        assert app.clipboard == "harbor/docs-example"
        await go_to(pilot, "v2.4")
        await press(pilot, "c")
        assert app.clipboard == f"{BASE}@{index}"
        assert len(index) == 71
        assert notifications(app)[-1] == f"Copied {BASE}@{index}"
        assert "Copied" in screen_text(app)  # the toast, drawn (not a crash)


async def test_the_details_pane_shows_the_whole_digest_alone_and_a_double_click_selects_it(tmp_path):
    app, path = demo_app(tmp_path)
    index = digest_of(path, BASE, "v2.4")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        line = app.query_one("#details-digest")
        assert str(line.render()) == index  # nothing else on that line, nothing cut
        await pilot.click("#details-digest", times=2)
        await settle(pilot)
        assert app.screen.get_selected_text() == index
        await press(pilot, "ctrl+c")  # with text selected, ctrl+c copies instead of quitting
        assert app.clipboard == index and app.is_running


# -- find and filter ---------------------------------------------------------------------------------


async def test_filter_hides_what_does_not_match_and_counts_it_in_the_header(tmp_path):
    app, path = demo_app(tmp_path)
    registry = SampleStore(path).load()
    arm = {
        (name, c.digest)
        for name, repo in registry.repositories.items()
        for a in repo.artifacts.values()
        for c in a.children
        if c.platform is not None and "arm64" in str(c.platform) and c.digest in repo.artifacts
    }
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await filter_by(pilot, "arm64")
        assert f"filter: arm64 ({len(arm)} of {artifact_count(path)})" in header(app)
        repos = sorted({r for r, _ in arm})
        assert [n.data.repository for n in app.main_screen.registry_tree.root.children] == repos  # the others are hidden
        rows = shown_rows(app)
        assert all("amd64" not in r for r in rows if "image" in r and "arm64" not in r and r.startswith("linux"))
        assert app.main_screen.registry_tree.cursor_entry.key in arm  # the cursor is on the first match
        # Every match is on screen, with the rows above it; nothing else under non-matching indexes.
        for key in arm:
            assert app.main_screen.registry_tree.find_path(key) is not None
        v24 = app.main_screen.registry_tree.nodes_of((BASE, digest_of(path, BASE, "v2.4")))[0]
        assert [c.data.platform.architecture for c in v24.children] == ["arm64"]
        await press(pilot, "escape")
        assert "filter:" not in header(app) and len(app.main_screen.registry_tree.root.children) == 7
        # The rows start over without the filter: v2.4 lists every platform again.
        await go_to(pilot, "v2.4")
        await press(pilot, "right")
        v24 = app.main_screen.registry_tree.cursor_node
        assert app.main_screen.registry_tree.cursor_entry.key == (BASE, digest_of(path, BASE, "v2.4")) and v24.is_expanded
        platforms = [c.data.platform.architecture for c in v24.children if c.data.platform is not None]
        assert "arm64" in platforms and "amd64" in platforms


async def test_filter_matches_kind_marker_digest_repository_and_several_words(tmp_path):
    app, path = demo_app(tmp_path)
    registry = SampleStore(path).load()
    slim = digest_of(path, BASE, "v2.4-slim")
    shared = {(n, d) for n, r in registry.repositories.items() for d in r.artifacts if len(r.parents_of(d)) > 1}
    sboms = {(n, d) for n, r in registry.repositories.items() for d in r.subjects if r.accessory_kinds.get(d) == "sbom"}
    payments = len(registry.repositories["payments/api"].artifacts)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        for text, expected in (("shared", len(shared)), ("sbom", len(sboms)), (slim[7:15], 1), ("sha256:" + slim[7:11], 1),
                               ("payments", payments), ("payments signature", None), ("no-such-thing", 0)):
            await filter_by(pilot, text)
            n = app.main_screen.registry_tree.filter.count
            if expected is not None:
                assert n == expected, text
            assert f"filter: {text} ({n} of {artifact_count(path)})" in header(app)
        assert "no artifact matches 'no-such-thing'" in screen_text(app)
        assert len(app.main_screen.registry_tree.root.children) == 0
        await filter_by(pilot, "payments signature")
        signatures = app.main_screen.registry_tree.filter.matched_keys()
        assert signatures and all(registry.repositories["payments/api"].accessory_kinds[d] == "signature" for _, d in signatures)
        await filter_by(pilot, "untagged")
        untagged = app.main_screen.registry_tree.filter.matched_keys()
        assert untagged and all(not registry.repositories[r].artifacts[d].tags for r, d in untagged)


async def test_find_keeps_jumping_and_respects_the_filter(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "busybox")
        assert "match 1 of 2" in screen_text(app)
        await press(pilot, "escape")
        await filter_by(pilot, "tools")
        await go_to(pilot, "busybox")  # mirror/busybox is filtered out: one match left
        assert "match 1 of 1" in screen_text(app)
        await press(pilot, "escape")  # the find first
        assert "filter: tools" in header(app)
        await press(pilot, "escape")  # then the filter
        assert "filter:" not in header(app)


# -- sort ------------------------------------------------------------------------------------------


async def test_o_cycles_the_order_of_each_repositorys_top_level(tmp_path):
    app, path = demo_app(tmp_path)
    registry = SampleStore(path).load()
    repo = registry.repositories[BASE]
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4-slim")
        here = cursor_key(app)
        repo_row = app.main_screen.registry_tree.cursor_node.parent
        by_name = [n.data.digest for n in repo_row.children]
        assert "sort: name" in header(app)
        await press(pilot, "o")
        assert "sort: created" in header(app)
        assert "Newest first" in notifications(app)[-1]
        await press(pilot, "o")
        assert "sort: size" in header(app)
        repo_row = app.main_screen.registry_tree.repository_node(BASE)
        by_size = [n.data.digest for n in repo_row.children]
        sizes = [total_size(repo, d) for d in by_size]
        assert sizes == sorted(sizes, reverse=True) and by_size != by_name
        assert cursor_key(app) == here  # the cursor stays on the same artifact
        await press(pilot, "o")
        assert "sort: name" in header(app)
        assert [n.data.digest for n in app.main_screen.registry_tree.repository_node(BASE).children] == by_name


# -- keys ------------------------------------------------------------------------------------------


async def test_vim_keys_and_expanding_a_whole_repository(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tree = app.main_screen.registry_tree
        first = tree.cursor_node
        await press(pilot, "l")
        assert first.is_expanded
        await press(pilot, "h")
        assert not first.is_expanded
        await press(pilot, "G")
        assert tree.cursor_line == tree.last_line and tree.cursor_entry.repository == "tools/busybox"
        await press(pilot, "g")
        assert tree.cursor_line == 0
        await go_to(pilot, "ml/inference")
        await press(pilot, "e")
        gpu = digest_of(path, "ml/inference", "gpu")
        gpu_children = children_of(path, "ml/inference", gpu)
        rows = [tree.cursor_node]
        for node in rows:
            rows.extend(node.children)
        assert all(n.is_expanded for n in rows if n.allow_expand)
        assert {("ml/inference", d) for d in gpu_children} <= {n.data.key for n in rows}
        await press(pilot, "down", "down", "E")
        assert tree.cursor_entry.kind == "repository" and not tree.cursor_node.is_expanded
        await press(pilot, "enter")
        assert not any(n.is_expanded for n in tree.cursor_node.children)


async def test_tab_focuses_the_details_pane_which_then_scrolls(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        details = app.query_one("#details", DetailsPane)
        assert details.max_scroll_y > 0  # the children list runs below the edge
        await press(pilot, "tab")
        assert app.focused is details
        await press(pilot, "pagedown")
        assert details.scroll_y > 0
        await press(pilot, "end")
        assert details.scroll_y == details.max_scroll_y
        assert "jumps there" in screen_text(app) or "windows/amd64" in screen_text(app)  # the list's end, readable
        await press(pilot, "tab")
        assert isinstance(app.focused, RegistryTree)


async def test_under_80_columns_the_details_go_below_the_tree(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        tree, details = app.main_screen.registry_tree, app.query_one("#details", DetailsPane)
        assert details.region.width > 0 and details.region.y > tree.region.y
        assert "If deleted: deletes 10, keeps" in screen_text(app)
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        assert details.region.x > tree.region.x and details.region.y == tree.region.y


# -- what the screens say -----------------------------------------------------------------------


async def test_sizes_are_labelled_and_platforms_counted_the_same_everywhere(tmp_path):
    app, path = demo_app(tmp_path)
    registry = SampleStore(path).load()
    docs = registry.repositories["harbor/docs-example"]
    multiarch = docs.tags["multiarch"]
    both = f"manifest {human_bytes(docs.artifacts[multiarch].size)}, total {human_bytes(total_size(docs, multiarch))}"
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await go_to(pilot, "multiarch")
        assert row_of(app, ("harbor/docs-example", multiarch)).endswith(both)
        assert f"Size: {both}" in screen_text(app)
        assert "Lists: 2 platforms" in screen_text(app)
        await go_to(pilot, "2026.11")
        assert "Lists: 2 entries" in screen_text(app)
        await go_to(pilot, "2026.10")
        assert any(line.rstrip().endswith("Lists: 1 platform") for line in screen_text(app).splitlines())


async def test_will_stay_names_a_kept_nested_index_and_its_children(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "2026.11")
        await press(pilot, "d")
        assert isinstance(app.screen, ConfirmDeleteScreen)
        assert "index gpu (and its 2 children)" in app.screen.query_one("#dialog-body").plain


async def test_protected_refusal_does_not_offer_g(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "release")
        await press(pilot, "d")
        assert isinstance(app.screen, RefusalScreen)
        assert screen_text(app).splitlines()[-1].split() == ["esc", "Close"]


async def test_reload_keeps_the_cursor_or_falls_back_to_its_repository_and_resets_find(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "1.36")
        key = cursor_key(app)
        # Another process deletes the artifact under the cursor.
        from ocitree.core.executor import execute_plan
        from ocitree.core.planner import plan_deletion, resolve_targets

        other = SampleStore(path)
        registry = other.load()
        execute_plan(plan_deletion(registry, resolve_targets(registry, [f"{key[0]}@{key[1]}"])), other)
        await press(pilot, "r")
        entry = app.main_screen.registry_tree.cursor_entry
        assert (entry.kind, entry.repository) == ("repository", key[0])
        assert not app.main_screen.matches and "match" not in screen_text(app)
        await go_to(pilot, "v2.4-slim")
        await press(pilot, "r")
        assert cursor_key(app) == (BASE, digest_of(path, BASE, "v2.4-slim")) and not app.main_screen.matches


# -- ctrl+c ------------------------------------------------------------------------------------------


async def test_ctrl_c_quits(tmp_path):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.return_code is None
        await pilot.press("ctrl+c")
        assert app.return_code == 0  # the app was told to quit by the key, not by the test ending
    assert app.return_code == 0


async def test_ctrl_c_during_a_deletion_asks_and_stops_part_way(tmp_path):
    from tests.helpers.immediate_store import ImmediateStore
    from tests.helpers.tui_pilot import demo_copy

    path = demo_copy(tmp_path)
    store = ImmediateStore(path, source="demo.json")
    gate = threading.Event()
    open_session = store.session

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

    store.session = slow_session
    app = OcitreeApp(store)
    index = digest_of(path, BASE, "v2.4")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        await press(pilot, "d")  # the plan is worked out on a worker: its confirmation comes once it is ready
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, DeletingScreen))
        await pilot.press("ctrl+c")
        await until(pilot, lambda: isinstance(app.screen, QuitDuringDeletionScreen))
        await pilot.press("n")  # keep deleting
        await until(pilot, lambda: isinstance(app.screen, DeletingScreen))
        await pilot.press("ctrl+c")
        await until(pilot, lambda: isinstance(app.screen, QuitDuringDeletionScreen))
        await pilot.press("y")
        gate.set()
        await until(pilot, lambda: not app.main_screen.deleting)
    assert app.return_code == 1
    assert (BASE, index) in store.gone  # the index went first
    assert len(store.gone) < 10  # and it stopped before the end


async def test_an_accessory_whose_subject_is_gone_is_marked_orphaned_and_filterable():
    from ocitree.core import media_types as mt
    from ocitree.core.model import Artifact, Registry, Repository

    from tests.helpers.tui_pilot import MemoryStore

    name = "team/app"
    image = Artifact(name, "sha256:" + "1" * 64, mt.OCI_MANIFEST, 400, config_media_type=mt.OCI_CONFIG, tags=["v1"])
    orphan = Artifact(name, "sha256:" + "2" * 64, mt.OCI_MANIFEST, 300, subject="sha256:" + "9" * 64,
                      artifact_type="application/vnd.dev.cosign.artifact.sig.v1+json")
    app = OcitreeApp(MemoryStore(Registry("memory", [Repository(name, [image, orphan])])))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        assert row_of(app, (name, orphan.digest)).startswith("orphaned signature")
        await filter_by(pilot, "orphaned")
        assert app.main_screen.registry_tree.filter.matched_keys() == [(name, orphan.digest)]
        assert "filter: orphaned (1 of 2)" in header(app)


def details_on_screen(app: OcitreeApp) -> list[str]:
    """The lines the details pane's place on screen shows, as a person sees them."""
    region = app.query_one("#details", DetailsPane).region
    lines = screen_text(app).splitlines()
    return [lines[y][region.x:region.right].rstrip() for y in range(region.y, region.bottom)]


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])  # beside the tree, and stacked below it
async def test_a_toast_leaves_every_line_of_the_details_pane_readable(tmp_path, size):
    app, path = demo_app(tmp_path)
    async with app.run_test(size=size, notifications=True) as pilot:
        await settle(pilot)
        await go_to(pilot, "v2.4")
        before = details_on_screen(app)
        assert before[-1].strip() or before[-2].strip(), "the pane is full to its last line"
        await press(pilot, "c")
        assert "Copied" in screen_text(app)  # the toast is drawn, over the tree's side
        assert details_on_screen(app) == before  # down to the pane's last line
        toast = app.screen.query_one("Toast")  # by its type name: Textual does not export the class
        assert toast.region.width >= 40 and toast.region.x + toast.region.width <= size[0]
