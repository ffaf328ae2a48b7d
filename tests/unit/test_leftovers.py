"""Leftovers: the groups the TUI's `L` shows, found in one pass over the registry."""

from __future__ import annotations

from ocitree.core.leftovers import find_leftovers
from ocitree.core.stores.sample import SampleStore
from ocitree.sample_data.builder import RegistryBuilder


def test_each_kind_of_leftover_is_found_and_nothing_else(tmp_path):
    b = RegistryBuilder()
    a = b.image("r/app", arch="amd64", seed="a")
    b.index("r/app", [a], tags=["v1"])  # whole: not a leftover
    stray = b.image("r/app", seed="stray")  # untagged, top level
    gone = b.image("r/app", ["gone"], seed="gone")
    sig = b.accessory("r/app", gone, "signature")
    broken = b.index("r/app", [b.image("r/app", seed="c")], tags=["v2"], missing=("sha256:" + "9" * 64,))
    doc = b.to_sample()
    doc["repositories"]["r/app"] = [e for e in doc["repositories"]["r/app"] if e["digest"] != gone.digest]
    path = tmp_path / "r.json"
    import json

    path.write_text(json.dumps(doc))
    groups = {g.kind: g for g in find_leftovers(SampleStore(path).load())}
    assert groups["untagged"].artifacts == [("r/app", stray.digest)]
    assert groups["orphaned_accessories"].artifacts == [("r/app", sig.digest)]
    assert groups["missing_children"].artifacts == [("r/app", broken.digest)]
    assert groups["unreferenced_blobs"].count == 0
    assert groups["untagged"].size > 1024  # the manifest and its layer
