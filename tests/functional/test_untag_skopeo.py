"""After untagging in a layout, an independent reader (Debian's skopeo) still reads every remaining
tag completely, and no longer finds the removed ones."""

from __future__ import annotations

import pytest

from ocitree.core.stores.layout import LayoutStore
from ocitree.core.untag import execute_untag, plan_untag
from ocitree.sample_data.builder import RegistryBuilder
from tests.functional.test_layout_skopeo import assert_every_tag_reads, assert_tag_gone
from tests.helpers.binaries import require_binary
from tests.unit.test_untag import multi_arch

pytestmark = pytest.mark.skopeo


def test_skopeo_reads_the_remaining_tags_and_not_the_removed_ones(tmp_path):
    require_binary("skopeo", "skopeo")
    builder = RegistryBuilder()
    multi_arch(builder)
    root = builder.write_layouts(tmp_path / "layouts")
    layout = root / "team" / "app"
    store = LayoutStore(root)
    execute_untag(plan_untag(store.load(), "team/app", "v1"), store)
    execute_untag(plan_untag(store.load(), "team/app", "v2"), store)  # the last tag: an unnamed entry stays

    assert assert_every_tag_reads(layout, tmp_path / "scratch") == 2  # latest, amd64-only: whole, every blob
    for tag in ("v1", "v2"):
        assert_tag_gone(layout, tag)
