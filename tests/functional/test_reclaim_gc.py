"""`reclaimable_bytes` against the real thing: the bytes of blob files that distribution's own
`docker-registry garbage-collect` removes after `ocitree delete` equal what the plan announced,
also where the deleted content lives on in other repositories (distribution keeps each blob once)."""

from __future__ import annotations

import json
import subprocess

import pytest

from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.registry_push import push_builder
from ocitree.tui.cli import main

pytestmark = pytest.mark.registry


def blob_bytes(server) -> dict[str, int]:
    """Every blob file of the registry's storage: digest -> size."""
    root = server.root / "storage" / "docker" / "registry" / "v2" / "blobs" / "sha256"
    return {f"sha256:{p.parent.name}": p.stat().st_size for p in root.glob("*/*/data")}


def garbage_collect(server) -> int:
    """Stop the registry, run its garbage collector, start it again: the bytes of blob files removed."""
    before = blob_bytes(server)
    server.stop()
    done = subprocess.run([server.binary, "garbage-collect", str(server.root / "config.yml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    server.start()
    after = blob_bytes(server)
    assert set(after) <= set(before)
    return sum(size for digest, size in before.items() if digest not in after)


def shared_across_repositories(builder: RegistryBuilder):
    """team/app:v1 -> {A, B}, signed; mirror/app holds a copy of A, other/app an index listing a copy of B."""
    a = builder.image("team/app", arch="amd64", seed="A", layer_sizes=(3000, 700))
    b = builder.image("team/app", arch="arm64", seed="B", layer_sizes=(2000,))
    v1 = builder.index("team/app", [a, b], ["v1"])
    builder.accessory("team/app", v1, "signature")
    builder.image("mirror/app", ["amd64"], arch="amd64", seed="A", layer_sizes=(3000, 700))
    b_copy = builder.image("other/app", arch="arm64", seed="B", layer_sizes=(2000,))
    d = builder.image("other/app", arch="amd64", seed="D", layer_sizes=(500,))
    builder.index("other/app", [b_copy, d], ["v9"])
    return a, b, v1


def run_json(capsys, *argv: str) -> tuple[int, dict]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_garbage_collect_frees_exactly_the_planned_bytes_when_content_lives_on_in_other_repositories(registry, capsys):
    builder = RegistryBuilder()
    a, b, v1 = shared_across_repositories(builder)
    push_builder(builder, registry.url)
    assert garbage_collect(registry) == 0  # nothing unused before the deletion

    code, plan = run_json(capsys, "plan", registry.url, "team/app:v1", "--json")
    assert code == 0 and len(plan["delete"]) == 4  # v1, A, B and the signature
    # A and B stay in storage: mirror/app and other/app use them. Only v1 and the signature go.
    assert plan["reclaimable_bytes"] < v1.size + a.size + b.size
    assert plan["reclaim"]["by"] == "gc"
    assert plan["reclaim"]["exact"] is False and "untagged" in plan["reclaim"]["caveat"]
    assert "3 repositories" in plan["reclaim"]["counted_across"]

    code, done = run_json(capsys, "delete", registry.url, "team/app:v1", "--yes", "--json")
    assert code == 0 and done["completed"]
    assert done["reclaimable_bytes"] == plan["reclaimable_bytes"]
    assert garbage_collect(registry) == plan["reclaimable_bytes"]


def test_garbage_collect_frees_every_blob_of_content_no_other_repository_holds(registry, capsys):
    builder = RegistryBuilder()
    a = builder.image("solo/app", arch="amd64", seed="S1", layer_sizes=(4000, 1000))
    b = builder.image("solo/app", arch="arm64", seed="S2", layer_sizes=(2500,))
    v1 = builder.index("solo/app", [a, b], ["v1"])
    keep = builder.image("solo/app", ["keep"], seed="S3", layer_sizes=(900,))
    builder.index("other/app", [builder.image("other/app", seed="S4")], ["v1"])
    push_builder(builder, registry.url)

    code, plan = run_json(capsys, "plan", registry.url, "solo/app:v1", "--json")
    assert code == 0
    code, done = run_json(capsys, "delete", registry.url, "solo/app:v1", "--yes", "--json")
    assert code == 0 and done["completed"]
    freed = garbage_collect(registry)
    assert freed == plan["reclaimable_bytes"] > v1.size + a.size + b.size
    assert keep.digest  # still tagged, so nothing of it was counted or freed


def test_plan_text_says_the_figure_is_an_upper_bound_and_what_it_counted(registry, capsys):
    builder = RegistryBuilder()
    shared_across_repositories(builder)
    push_builder(builder, registry.url)
    assert main(["plan", registry.url, "team/app:v1"]) == 0
    out = capsys.readouterr().out
    assert "Reclaimable by the registry's garbage collector: at most" in out
    assert "counted across all 3 repositories the registry lists" in out


def test_the_tui_confirmation_reads_the_same_bound_from_the_plan(registry):
    """The confirmation dialog renders the DeletionPlan the CLI prints: same figure, same bound."""
    from ocitree.core.planner import plan_deletion, resolve_targets
    from ocitree.core.stores.registry.store import RegistryStore
    from ocitree.tui.plan_text import human_bytes
    from ocitree.tui.screens.plan_view import plan_text

    builder = RegistryBuilder()
    shared_across_repositories(builder)
    push_builder(builder, registry.url)
    store = RegistryStore(registry.url)
    try:
        loaded = store.load()
    finally:
        store.close()
    plan = plan_deletion(loaded, resolve_targets(loaded, ["team/app:v1"]))
    text = plan_text(plan, loaded).plain
    assert f"Reclaimable by the registry's garbage collector: at most {human_bytes(plan.reclaimable_bytes)}" in text
    assert "an upper bound: manifests the registry API does not show" in text


def test_every_public_scenario_in_one_registry_frees_what_its_plan_said(registry, capsys):
    """All twelve scenarios side by side in one registry (they share blobs, such as the empty config
    of every signature), each allowed one deleted in turn: garbage-collect frees its plan's figure."""
    from tests.helpers.scenarios import SCENARIOS, build_all, ref_for

    builder, built = build_all()
    push_builder(builder, registry.url)
    assert garbage_collect(registry) == 0
    checked = 0
    for scenario in SCENARIOS:
        if scenario.refused:
            continue
        refs = [ref_for(scenario, built[scenario.number], t) for t in scenario.targets]
        code, plan = run_json(capsys, "plan", registry.url, *refs, "--json")
        assert code == 0 and plan["allowed"], scenario.title
        code, done = run_json(capsys, "delete", registry.url, *refs, "--yes", "--json")
        assert code == 0 and done["completed"], scenario.title
        assert garbage_collect(registry) == plan["reclaimable_bytes"], scenario.title
        checked += 1
    assert checked == 9
