"""The TUI over a registry's storage read directly: the header's 'reclaimable now' figure and
read-only reason, and a delete with --offline that the header's figure then follows."""

from __future__ import annotations

import pytest

from ocitree.core.sources import open_store
from ocitree.core.stores.options import SourceOptions
from tests.helpers.registry_push import push_builder
from tests.helpers.scenarios import build_all
from ocitree.tui.app import OcitreeApp
from ocitree.tui.plan_text import human_bytes
from ocitree.tui.widgets.source_header import SourceHeader, header_text
from ocitree.tui.widgets.text_lines import TextLines

from ocitree.tui.screens.confirm import ConfirmDeleteScreen

from .test_tui_flows import go_to
from tests.helpers.tui_pilot import press, settle

pytestmark = pytest.mark.registry


def header(app: OcitreeApp) -> str:
    widget = app.query_one("#header", SourceHeader)
    return header_text(widget.state, 200).plain


@pytest.fixture
def stopped_storage(registry):
    builder, built = build_all()
    push_builder(builder, registry.url)
    registry.stop()
    return registry.root / "storage", built


async def test_storage_without_api_or_offline_is_read_only_and_the_header_says_why(stopped_storage):
    storage, built = stopped_storage
    app = OcitreeApp(open_store(str(storage)))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = header(app)
        assert "reclaimable now 0 B" in text
        assert "READ-ONLY" in text and "needs --api or --offline" in text
        await go_to(pilot, "multi")
        await press(pilot, "d")  # read-only: a preview of the plan, with nothing to run it
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDeleteScreen)
        await press(pilot, "y")
        await settle(pilot)
    assert (storage / "docker/registry/v2/repositories/s3/app/_manifests/tags/multi/current/link").exists()


async def test_offline_delete_in_the_tui_moves_its_bytes_into_reclaimable_now(stopped_storage):
    storage, built = stopped_storage
    app = OcitreeApp(open_store(str(storage), SourceOptions(offline=True)))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "reclaimable now 0 B" in header(app) and "READ-ONLY" not in header(app)
        await go_to(pilot, "multi")
        await press(pilot, "d")
        plan = app.screen.plan
        assert plan.garbage_collect is not None and plan.reclaimable_bytes > 0
        body = app.screen.query_one("#dialog-body", TextLines).plain
        assert "docker-registry garbage-collect" in body  # the confirmation says to run it (scroll down)
        await press(pilot, "y")
        await settle(pilot)
        assert f"reclaimable now {human_bytes(plan.garbage_collect.frees)}" in header(app)
    # A fresh read of the storage agrees with what the TUI shows.
    again = open_store(str(storage)).load()
    assert again.garbage_collect_now().reclaimable_now == plan.garbage_collect.frees
    assert built[3]["I"].digest not in again.repositories["s3/app"].artifacts
