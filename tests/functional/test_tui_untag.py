"""Pilot tests of `t` (untag): which tag, the confirmation, the file afterwards, the tree in place;
refusals (a protected tag, a source that cannot untag) say why and change nothing."""

from __future__ import annotations

import pytest

from ocitree.core.stores.sample import SampleStore
from ocitree.tui.app import OcitreeApp
from ocitree.tui.screens.untag import ChooseTagScreen, ConfirmUntagScreen

from .test_tui_flows import cursor_key, go_to, notifications, row_of
from tests.helpers.tui_pilot import MemoryStore, demo_app, digest_of, press, screen_text, settle, stored, until

API = "payments/api"


async def test_t_asks_which_tag_confirms_and_updates_the_tree_in_place(tmp_path):
    app, path = demo_app(tmp_path)
    digest = digest_of(path, API, "latest")
    assert stored(path)[API][digest] == ["1.8.0", "latest"]
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "t Untag" in screen_text(app)  # a sample file can untag: the footer offers it
        await go_to(pilot, "latest")
        assert cursor_key(app) == (API, digest)
        await press(pilot, "t")
        assert isinstance(app.screen, ChooseTagScreen)
        assert app.screen.tags == ["1.8.0", "latest"]
        await press(pilot, "down", "enter")
        assert isinstance(app.screen, ConfirmUntagScreen)
        text = screen_text(app)
        assert "Remove the tag payments/api:latest?" in text and "is not deleted" in text and "stays, tagged 1.8.0" in text
        assert app.screen.focused.id == "cancel"
        await press(pilot, "y")
        assert not isinstance(app.screen, ConfirmUntagScreen)
        assert stored(path)[API][digest] == ["1.8.0"]
        assert "Removed the tag payments/api:latest; the manifest stays." in notifications(app)
        row = row_of(app, (API, digest))  # the same row, without the tag, and the cursor still on it
        assert "1.8.0" in row and "latest" not in row
        assert cursor_key(app) == (API, digest)


async def test_last_tag_of_a_top_level_image_says_it_becomes_untagged(tmp_path):
    app, path = demo_app(tmp_path)
    digest = digest_of(path, API, "1.7.2")
    assert stored(path)[API][digest] == ["1.7.2"]
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await go_to(pilot, "1.7.2")
        assert cursor_key(app) == (API, digest)
        await press(pilot, "t")  # one tag: straight to the confirmation
        assert isinstance(app.screen, ConfirmUntagScreen)
        assert app.screen.plan.becomes_untagged
        assert "prune --untagged" in screen_text(app)
        await press(pilot, "y")
        assert stored(path)[API][digest] == []
        assert any("now untagged: a prune --untagged candidate" in n for n in notifications(app))
        assert "untagged" in row_of(app, (API, digest))


async def test_protected_tag_is_refused_with_the_rule_and_nothing_changes(tmp_path):
    app, path = demo_app(tmp_path)  # the demo file protects payments/*:release-*
    before = path.read_bytes()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await go_to(pilot, "1.8.0-hotfix")
        await press(pilot, "t")
        assert isinstance(app.screen, ChooseTagScreen)
        assert app.screen.tags == ["release-2026-11", "1.8.0-hotfix"]
        await press(pilot, "enter")
        assert not isinstance(app.screen, ConfirmUntagScreen)
        assert any("payments/api:release-2026-11 is protected (rule 'payments/*:release-*')" in n for n in notifications(app))
    assert path.read_bytes() == before


async def test_source_that_cannot_untag_does_not_offer_t_and_says_why(tmp_path):
    registry = SampleStore(demo_app(tmp_path)[1]).load()
    app = OcitreeApp(MemoryStore(registry))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "t Untag" not in screen_text(app)
        assert "d Delete" in screen_text(app)  # the footer is there, without t
        await go_to(pilot, "latest")
        await press(pilot, "t")
        assert not isinstance(app.screen, (ChooseTagScreen, ConfirmUntagScreen))
        assert any("cannot remove a tag alone" in n for n in notifications(app))


async def test_read_only_does_not_offer_t(tmp_path):
    app, path = demo_app(tmp_path, read_only=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "t Untag" not in screen_text(app)
        await go_to(pilot, "latest")
        await press(pilot, "t")
        assert any("Read-only: no tag can be removed." in n for n in notifications(app))


@pytest.mark.registry
async def test_on_docker_registry_t_is_not_offered_and_says_distribution_cannot(registry):
    from ocitree.core.stores.registry.store import RegistryStore
    from ocitree.sample_data.builder import RegistryBuilder
    from tests.helpers.registry_push import push_builder

    builder = RegistryBuilder()
    builder.image("team/app", ["v1", "latest"])
    push_builder(builder, registry.url)
    store = RegistryStore(registry.url)
    app = OcitreeApp(store)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            assert "d Delete" in screen_text(app) and "t Untag" not in screen_text(app)
            # Opening a registry writes nothing to it: the check (a DELETE of a random tag) waits for `t`.
            assert not app.main_screen.untagger.known
            await go_to(pilot, "v1")
            await press(pilot, "t")
            await until(pilot, lambda: app.main_screen.untagger.known)
            await settle(pilot)
            assert not isinstance(app.screen, (ChooseTagScreen, ConfirmUntagScreen))
            assert "t Untag" not in screen_text(app)
            said = [n for n in notifications(app) if "cannot remove a tag alone" in n]
            assert said and "DIGEST_INVALID" in said[0] and "push another manifest under it" in said[0]
    finally:
        store.close()


@pytest.mark.registry
async def test_on_a_registry_that_deletes_by_tag_t_asks_it_then_goes_on_to_the_untag(registry, registry_proxy):
    """Nothing is sent before `t`; then one DELETE of a random tag, and a 404 (as a registry that
    looks tags up to delete them answers) leads straight on to the confirmation."""
    from ocitree.core.stores.registry.store import RegistryStore
    from ocitree.sample_data.builder import RegistryBuilder
    from tests.helpers.registry_fault_proxy import Fault
    from tests.helpers.registry_push import push_builder

    builder = RegistryBuilder()
    builder.image("team/app", ["v1"])
    push_builder(builder, registry.url)
    registry_proxy.add(Fault(method="DELETE", path="/manifests/ocitree-untag-probe-", status=404,
                             message="manifest unknown"))
    store = RegistryStore(registry_proxy.url)
    app = OcitreeApp(store)

    def deletes() -> int:
        return sum(1 for method, _ in registry_proxy.requests if method == "DELETE")

    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            assert deletes() == 0
            await go_to(pilot, "v1")
            await press(pilot, "t")
            await until(pilot, lambda: isinstance(app.screen, ConfirmUntagScreen))
            assert deletes() == 1
    finally:
        store.close()
