"""Created dates read from image configs (issues 11 and 12): layouts (written by ocitree's builder
and by skopeo), a live docker-registry (cached by config digest), distribution's storage; shown by
`ls --json`, used by `prune --older-than`; a config that cannot be read leaves the date unknown."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

from ocitree.core import media_types as mt
from ocitree.core.sources import SourceOptions
from ocitree.core.stores.registry.cache import ManifestCache
from ocitree.core.stores.registry.store import RegistryStore
from ocitree.sample_data.builder import BuiltManifest, RegistryBuilder
from ocitree.tui.cli import main
from tests.helpers.binaries import require_binary
from tests.helpers.registry_fault_proxy import Fault
from tests.helpers.registry_push import push_builder
from tests.helpers.sources.layout_source import blob_file

OLD = "2020-05-01T10:00:00Z"
NEWER = "2021-07-02T11:30:00.123456789Z"  # Go writes nanoseconds
RECENT = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))


def image_with_config(b: RegistryBuilder, repo: str, tags: list[str], config: bytes,
                      config_type: str = mt.OCI_CONFIG) -> BuiltManifest:
    """An image whose config blob holds exactly `config` (the builder writes only good ones)."""
    layer = b"layer of " + config
    doc = {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
           "config": {"mediaType": config_type, "digest": b.blob(config), "size": len(config)},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": b.blob(layer),
                       "size": len(layer)}]}
    data = json.dumps(doc, separators=(",", ":")).encode()
    return b._add(repo, BuiltManifest(repo, "sha256:" + hashlib.sha256(data).hexdigest(),
                                      mt.OCI_MANIFEST, data, list(tags), {"os": "linux", "architecture": "amd64"}))


def releases(b: RegistryBuilder, repo: str = "team/app") -> dict[str, BuiltManifest]:
    """old: an image built in 2020; multi: an index whose children were built in 2020 and 2021
    (so it dates from 2021); fresh: built yesterday; undated: a config without `created`."""
    made = {"old": b.image(repo, ["old"], seed="old", created=OLD)}
    amd = b.image(repo, arch="amd64", seed="m-amd", created=OLD)
    arm = b.image(repo, arch="arm64", seed="m-arm", created=NEWER)
    made["multi"] = b.index(repo, [amd, arm], ["multi"])
    made["multi-arm"] = arm
    made["fresh"] = b.image(repo, ["fresh"], seed="fresh", created=RECENT)
    made["undated"] = b.image(repo, ["undated"], seed="undated")
    return made


def ls_json(capsys, source: str) -> dict[str, str | None]:
    """digest -> created, and tag -> created, for every artifact `ls --json` shows."""
    assert main(["ls", source, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    found: dict[str, str | None] = {}

    def walk(entries):
        for e in entries:
            found[e["digest"]] = e["created"]
            found.update((tag, e["created"]) for tag in e["tags"])
            walk(e["children"])
            walk(e["accessories"])

    for repo in doc["repositories"]:
        walk(repo["artifacts"])
    return found


def prune_older_than(capsys, source: str, age: str) -> dict:
    code = main(["prune", source, "--older-than", age, "--dry-run", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    return doc


def assert_dated(created: dict[str, str | None], made: dict[str, BuiltManifest]) -> None:
    assert created[made["old"].digest] == OLD
    assert created[made["multi-arm"].digest] == "2021-07-02T11:30:00Z"
    assert created[made["multi"].digest] == "2021-07-02T11:30:00Z"  # its newest child's
    assert created[made["fresh"].digest] == RECENT
    assert created[made["undated"].digest] is None


def assert_prunes_the_old_ones(doc: dict, made: dict[str, BuiltManifest]) -> None:
    assert {tuple(d["tags"]) for d in doc["delete"] if d["tags"]} == {("old",), ("multi",)}
    assert {r["tags"][0]: r["reason"] for r in doc["retained"]} == {"fresh": "newer", "undated": "no_date"}


# -- every source ------------------------------------------------------------------------------


def test_ls_json_shows_each_images_config_created_and_prune_older_than_goes_by_it(make_source, capsys):
    b = RegistryBuilder()
    made = releases(b)
    source = make_source(b)
    assert_dated(ls_json(capsys, source), made)
    assert_prunes_the_old_ones(prune_older_than(capsys, source, "90d"), made)
    assert prune_older_than(capsys, source, "1000w")["delete"] == []


# -- layouts ---------------------------------------------------------------------------------


def test_a_layout_config_missing_damaged_or_not_json_leaves_the_date_unknown(tmp_path, capsys):
    b = RegistryBuilder()
    made = releases(b)
    made["junk"] = image_with_config(b, "team/app", ["junk"], b"not json {")
    made["zero"] = image_with_config(b, "team/app", ["zero"], b'{"created":"0001-01-01T00:00:00Z"}')
    made["text"] = image_with_config(b, "team/app", ["text"], b'{"created":"last tuesday"}')
    made["sbom"] = image_with_config(b, "team/app", ["sbom"], b'{"created":"2020-01-01T00:00:00Z"}',
                                     config_type="application/spdx+json")
    root = b.write_layouts(tmp_path / "layouts")
    layout = root / "team/app"
    config_of = {name: json.loads(m.data)["config"]["digest"] for name, m in made.items() if name != "multi"}
    blob_file(layout, config_of["old"]).write_bytes(b'{"created":"2000-01-01T00:00:00Z"}')  # damaged
    blob_file(layout, config_of["fresh"]).unlink()  # missing
    created = ls_json(capsys, str(root))
    assert created[made["multi"].digest] == "2021-07-02T11:30:00Z"  # the undamaged ones still read
    for name in ("old", "fresh", "junk", "zero", "text", "undated"):
        assert created[made[name].digest] is None, name
    assert created[made["sbom"].digest] is None  # not an image's config: not read for a date


def test_a_layout_skopeo_copied_from_a_registry_is_dated_by_its_configs(registry, tmp_path, capsys):
    skopeo = require_binary("skopeo", "skopeo")
    b = RegistryBuilder()
    made = releases(b)
    push_builder(b, registry.url)
    layout = tmp_path / "app"
    for tag in ("old", "multi", "fresh", "undated"):
        done = subprocess.run([skopeo, "--insecure-policy", "copy", "--all", "--quiet", "--src-tls-verify=false",
                               f"docker://{registry.host}/team/app:{tag}", f"oci:{layout}:{tag}"],
                              capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
    # skopeo writes manifests of its own (new digests), with the same configs.
    created = ls_json(capsys, str(layout))
    assert [created[tag] for tag in ("old", "multi", "fresh", "undated")] == [OLD, "2021-07-02T11:30:00Z", RECENT, None]
    assert_prunes_the_old_ones(prune_older_than(capsys, str(layout), "90d"), made)


# -- a live registry -----------------------------------------------------------------------------


def load(url: str, cache: Path):
    store = RegistryStore(url, cache=ManifestCache(cache))
    try:
        return store.load()
    finally:
        store.close()


def created_of(registry_state, made: dict[str, BuiltManifest]) -> dict[str, float | None]:
    repo = registry_state.repositories["team/app"]
    return {name: repo.artifacts[m.digest].created for name, m in made.items() if m.digest in repo.artifacts}


def test_a_config_is_fetched_once_then_read_from_the_cache(registry, registry_proxy, tmp_path):
    b = RegistryBuilder()
    made = releases(b)
    push_builder(b, registry.url)
    cache = tmp_path / "cache.sqlite3"
    cold = created_of(load(registry_proxy.url, cache), made)
    images = 5  # old, the index's two children, fresh, undated
    assert registry_proxy.count("GET", "/blobs/") == images
    registry_proxy.clear()
    warm = created_of(load(registry_proxy.url, cache), made)
    assert registry_proxy.count("GET", "/blobs/") == 0  # content by digest: never asked again
    assert warm == cold and cold["old"] is not None and cold["undated"] is None


def test_a_config_that_404s_fails_or_arrives_altered_leaves_the_date_unknown_and_is_asked_again(
        registry, registry_proxy, tmp_path):
    b = RegistryBuilder()
    made = releases(b)
    made["junk"] = image_with_config(b, "team/app", ["junk"], b"not json {")
    push_builder(b, registry.url)
    config_of = {name: json.loads(m.data)["config"]["digest"] for name, m in made.items() if name != "multi"}
    registry_proxy.add(Fault("GET", f"/blobs/{config_of['old']}", status=404))
    registry_proxy.add(Fault("GET", f"/blobs/{config_of['fresh']}", status=500))
    registry_proxy.add(Fault("GET", f"/blobs/{config_of['multi-arm']}", body=b'{"created":"2000-01-01T00:00:00Z"}'))
    cache = tmp_path / "cache.sqlite3"
    first = created_of(load(registry_proxy.url, cache), made)
    assert first["old"] is None and first["fresh"] is None and first["multi-arm"] is None and first["junk"] is None
    assert len(first) == len(made)  # every manifest loaded all the same

    registry_proxy.clear()
    registry_proxy.faults.clear()
    second = created_of(load(registry_proxy.url, cache), made)
    # What failed is asked again (and now read); what was read, even without a date, is not.
    asked = {p.rsplit("/", 1)[1] for m, p in registry_proxy.requests if m == "GET" and "/blobs/" in p}
    assert asked == {config_of["old"], config_of["fresh"], config_of["multi-arm"]}
    assert second["old"] is not None and second["fresh"] is not None and second["multi-arm"] is not None
    assert second["junk"] is None


def test_a_config_the_registry_redirects_to_its_storage_is_read_there(registry, registry_proxy, tmp_path):
    b = RegistryBuilder()
    made = releases(b)
    push_builder(b, registry.url)
    config = json.loads(made["old"].data)["config"]["digest"]
    # As distribution with S3 storage does: 307 to a signed URL on another host (here the registry
    # itself, bypassing the proxy).
    registry_proxy.add(Fault("GET", f"/blobs/{config}", status=307,
                             headers={"Location": f"{registry.url}/v2/team/app/blobs/{config}?signed=1"}))
    created = created_of(load(registry_proxy.url, tmp_path / "cache.sqlite3"), made)
    assert created["old"] is not None and created["multi"] is None  # an index's date is core.dates' work


# -- distribution's storage read directly ----------------------------------------------------------


def test_registry_storage_is_dated_by_its_config_blobs(registry, capsys):
    b = RegistryBuilder()
    made = releases(b)
    push_builder(b, registry.url)
    storage = registry.root / "storage"
    assert_dated(ls_json(capsys, str(storage)), made)
    assert_prunes_the_old_ones(prune_older_than(capsys, str(storage), "90d"), made)


# -- the TUI -------------------------------------------------------------------------------------


async def test_tui_shows_the_date_in_the_details_and_in_the_row_when_the_width_allows(tmp_path):
    from ocitree.core.stores.sample import SampleStore
    from ocitree.tui.app import OcitreeApp

    from .test_tui_flows import go_to, row_of
    from tests.helpers.tui_pilot import screen_text, settle

    b = RegistryBuilder()
    made = releases(b)
    b.accessory("team/app", made["old"], "signature")
    path = b.write_sample(tmp_path / "dated.json")
    old, undated = ("team/app", made["old"].digest), ("team/app", made["undated"].digest)

    async with OcitreeApp(SampleStore(path)).run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await go_to(pilot, "old")
        app = pilot.app
        assert row_of(app, old).endswith("  2020-05-01")
        assert row_of(app, undated).endswith("KiB")  # no date, no mark
        screen = screen_text(app)
        assert "Created: " + OLD in screen  # the details pane
        assert "total 1.5 KiB  2020-05-01" in screen  # the row, whole
        await go_to(pilot, "undated")
        assert "Created: -" in screen_text(app)  # undated: shown as unknown, as `ls` does

    async with OcitreeApp(SampleStore(path)).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await go_to(pilot, "multi")
        app = pilot.app
        for key in (old, ("team/app", made["multi"].digest)):
            row = row_of(app, key)
            assert "2020" not in row and "2021" not in row  # no room: the row stays as it was
        assert "Created: 2021-07-02T11:30:00Z" in screen_text(app)


def test_a_config_read_that_times_out_costs_its_date_and_no_more_config_reads(registry, registry_proxy, tmp_path):
    b = RegistryBuilder()
    made = releases(b)
    push_builder(b, registry.url)
    # Every config drips a byte at a time: the first to pass the deadline stops the rest.
    registry_proxy.add(Fault("GET", "/blobs/", drip=0.25))
    store = RegistryStore(registry_proxy.url, SourceOptions(concurrency=1, timeout=1.5),
                          cache=ManifestCache(tmp_path / "cache.sqlite3"))
    try:
        created = created_of(store.load(), made)
    finally:
        store.close()
    assert len(created) == len(made) and set(created.values()) == {None}  # loaded, undated
    assert registry_proxy.count("GET", "/blobs/") == 1
