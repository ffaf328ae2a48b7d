"""Every artifact the source holds appears in every view (issue 7 §3b): accessories whose subject
another tool deleted, and artifacts whose cosign tags name each other, are listed under their
repository with a marker (`orphaned accessory` with its missing subject, `accessory cycle`); the
header's count is the number of distinct artifacts listed. Against the real docker-registry."""

from __future__ import annotations

import json

import httpx
import pytest

from ocitree.core.stores.registry.store import RegistryStore
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.registry_push import push_builder
from tests.functional.test_registry_presence import listed_digests
from tests.helpers.tui_pilot import settle
from ocitree.tui.app import OcitreeApp
from ocitree.tui.cli import main

pytestmark = pytest.mark.registry

REPO = "team/app"


def cosign_tag(digest: str, suffix: str = "sig") -> str:
    return digest.replace(":", "-") + "." + suffix


@pytest.fixture
def odd_registry(registry):
    """team/app: an image v1 with a signature and an SBOM, then v1 deleted by another client
    (the accessories' cosign tags stay); two images whose cosign tags name each other; and an
    ordinary image v2 with its signature."""
    b = RegistryBuilder()
    gone = b.image(REPO, ["v1"], arch="amd64")
    signature = b.accessory(REPO, gone, "signature")
    sbom = b.accessory(REPO, gone, "sbom")
    x = b.image(REPO, arch="arm64")
    y = b.image(REPO, arch="s390x")
    b.tag(x, cosign_tag(y.digest))
    b.tag(y, cosign_tag(x.digest))
    kept = b.image(REPO, ["v2"], arch="ppc64le")
    kept_signature = b.accessory(REPO, kept, "signature")
    push_builder(b, registry.url)
    assert httpx.delete(f"{registry.url}/v2/{REPO}/manifests/{gone.digest}").status_code == 202
    odd = {"gone": gone, "signature": signature, "sbom": sbom, "x": x, "y": y, "kept": kept,
           "kept_signature": kept_signature}
    return registry, odd


def _roots(doc: dict) -> dict[str, dict]:
    repo = next(r for r in doc["repositories"] if r["name"] == REPO)
    return {a["digest"]: a for a in repo["artifacts"]}


def test_ls_json_lists_orphaned_accessories_and_accessory_cycles_with_markers(odd_registry, capsys):
    registry, odd = odd_registry
    assert main(["ls", registry.url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    repo = next(r for r in doc["repositories"] if r["name"] == REPO)
    listed = listed_digests(doc, REPO)
    expected = {m.digest for k, m in odd.items() if k != "gone"}
    assert listed == expected
    assert repo["artifact_count"] == len(listed)

    roots = _roots(doc)
    for name in ("signature", "sbom"):
        entry = roots[odd[name].digest]
        assert entry["marker"] == "orphaned accessory"
        assert entry["missing_subjects"] == [odd["gone"].digest]
    assert roots[odd["signature"].digest]["kind"] == "signature"
    assert roots[odd["sbom"].digest]["kind"] == "sbom"
    # One of the two is the root of the loop; the other hangs under it as its accessory.
    cycle_roots = [d for d in (odd["x"].digest, odd["y"].digest) if d in roots]
    assert len(cycle_roots) == 1 and roots[cycle_roots[0]]["marker"] == "accessory cycle"
    assert len(roots[cycle_roots[0]]["accessories"]) == 1
    # The ordinary image and its signature are unmarked.
    assert roots[odd["kept"].digest]["marker"] is None
    assert roots[odd["kept"].digest]["accessories"][0]["digest"] == odd["kept_signature"].digest


def test_ls_text_lists_them_with_markers_and_the_header_counts_what_is_listed(odd_registry, capsys):
    registry, odd = odd_registry
    assert main(["ls", registry.url]) == 0
    text = capsys.readouterr().out
    assert "6 artifacts" in text
    assert text.count("ORPHANED ACCESSORY (missing subject") == 2
    assert text.count("ACCESSORY CYCLE") == 1
    for key in ("signature", "sbom", "x", "y", "kept", "kept_signature"):
        assert odd[key].digest.partition(":")[2][:12] in text, key


async def test_the_tui_shows_them_with_markers(odd_registry):
    registry, odd = odd_registry
    store = RegistryStore(registry.url)
    app = OcitreeApp(store)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            tree = app.main_screen.registry_tree
            rows = {}
            for key in ("signature", "sbom", "x", "y"):
                node = tree.reveal((REPO, odd[key].digest))
                assert node is not None, key
                rows[key] = tree.render_label(node, tree.rich_style, tree.rich_style).plain
            await settle(pilot)
    finally:
        store.close()
    assert "orphaned accessory: missing subject" in rows["signature"]
    assert "orphaned accessory: missing subject" in rows["sbom"]
    assert sum("accessory cycle" in rows[k] for k in ("x", "y")) == 1
