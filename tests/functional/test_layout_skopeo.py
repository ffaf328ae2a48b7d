"""After deleting from a layout, an independent reader (Debian's skopeo) still reads every remaining
tag completely, and no longer finds the removed ones."""

from __future__ import annotations

import json
import subprocess

import pytest

from ocitree.core.executor import execute_plan
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.core.sources import open_store
from ocitree.core.stores.options import SourceOptions
from ocitree.core.stores.layout import LayoutStore
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.binaries import require_binary
from tests.helpers.scenarios import SCENARIOS, ref_for
from tests.helpers.sources.layout_source import blob_file, index_tags

pytestmark = pytest.mark.skopeo

IMAGE_CONFIGS = {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}


@pytest.fixture(autouse=True)
def skopeo_installed():
    require_binary("skopeo", "skopeo")  # skip (or fail in CI) before any work


def skopeo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([require_binary("skopeo", "skopeo"), *args], capture_output=True, timeout=60)


def assert_every_tag_reads(layout, scratch) -> int:
    """skopeo reads each tag's manifest byte for byte, inspects images, and copies each tag
    with all its children, configs and layers (checking every digest). Returns the tag count."""
    tags = index_tags(layout)
    for tag, digest in tags.items():
        ref = f"oci:{layout}:{tag}"
        raw = skopeo("inspect", "--raw", ref)
        assert raw.returncode == 0, raw.stderr.decode()
        assert raw.stdout == blob_file(layout, digest).read_bytes()
        manifest = json.loads(raw.stdout)
        if manifest.get("config", {}).get("mediaType") in IMAGE_CONFIGS:
            inspected = skopeo("inspect", ref)
            assert inspected.returncode == 0, inspected.stderr.decode()
            assert json.loads(inspected.stdout)["Digest"] == digest
        copied = skopeo("--insecure-policy", "copy", "--all", "--quiet", ref, f"oci:{scratch}:{tag}")
        assert copied.returncode == 0, copied.stderr.decode()
    return len(tags)


def assert_tag_gone(layout, tag):
    result = skopeo("inspect", "--raw", f"oci:{layout}:{tag}")
    assert result.returncode != 0
    assert tag in result.stderr.decode()


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if not s.refused], ids=lambda s: f"s{s.number}")
def test_remaining_tags_read_after_scenario(scenario, tmp_path):
    builder = RegistryBuilder()
    built = scenario.build(builder, scenario.repo)
    root = builder.write_layouts(tmp_path / "layouts")
    layout = root / scenario.repo
    tags_before = index_tags(layout)
    store = LayoutStore(root)
    registry = store.load()
    plan = plan_deletion(registry, resolve_targets(registry, [ref_for(scenario, built, t) for t in scenario.targets]))
    assert execute_plan(plan, store).completed

    for name in builder.repositories():
        assert_every_tag_reads(root / name, tmp_path / "copy")
    gone = set(tags_before) - set(index_tags(layout))
    assert gone == {t for d in plan.delete for t in d.tags}
    for tag in gone:
        assert_tag_gone(layout, tag)


def test_index_delete_leaves_shared_child_and_its_layers_readable(tmp_path):
    builder = RegistryBuilder()
    amd, arm = builder.image("app", arch="amd64", seed="x"), builder.image("app", arch="arm64", seed="x")
    builder.index("app", [amd, arm], ["multi"])
    builder.index("app", [arm], ["arm-only"])  # shares arm, which shares its layer with amd
    root = builder.write_layouts(tmp_path / "layouts")
    store = LayoutStore(root)
    registry = store.load()
    plan = plan_deletion(registry, resolve_targets(registry, ["app:multi"]))
    assert {d.digest for d in plan.delete} == {registry.repositories["app"].tags["multi"], amd.digest}
    assert execute_plan(plan, store).completed

    assert assert_every_tag_reads(root / "app", tmp_path / "copy") == 1
    assert_tag_gone(root / "app", "multi")


def test_keep_blobs_layout_still_reads(tmp_path):
    builder = RegistryBuilder()
    builder.image("app", ["old"], seed="a")
    builder.image("app", ["new"], seed="b")
    root = builder.write_layouts(tmp_path / "layouts")
    store = open_store(str(root / "app"), SourceOptions(keep_blobs=True))
    registry = store.load()
    assert execute_plan(plan_deletion(registry, resolve_targets(registry, ["app:old"])), store).completed

    assert assert_every_tag_reads(root / "app", tmp_path / "copy") == 1
    assert_tag_gone(root / "app", "old")
