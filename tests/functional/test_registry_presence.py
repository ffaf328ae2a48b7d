"""What is shown is what the registry holds now (issue 7 §3a).

The manifest cache is content by digest, but presence is per repository: a child another client
deleted (skopeo delete), or one whose digest lives only in another repository, is `missing`
(rule 8) in ls, plan and their --json, and deleting its index works, whatever the cache holds.
Against the real docker-registry, with skopeo as the other client.
"""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from ocitree.core import media_types as mt
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.binaries import require_binary
from tests.helpers.registry_push import push_builder
from ocitree.tui.cli import main

pytestmark = pytest.mark.registry


def skopeo_delete(host: str, repository: str, digest: str) -> None:
    skopeo = require_binary("skopeo", "skopeo")
    result = subprocess.run([skopeo, "delete", "--tls-verify=false", f"docker://{host}/{repository}@{digest}"],
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()


def present(url: str, repository: str, digest: str) -> bool:
    status = httpx.head(f"{url}/v2/{repository}/manifests/{digest}", headers={"Accept": mt.ACCEPT_MANIFESTS}).status_code
    assert status in (200, 404)
    return status == 200


def run_json(capsys, *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def ls_artifact(doc: dict, repository: str, digest: str) -> dict:
    repo = next(r for r in doc["repositories"] if r["name"] == repository)
    stack = list(repo["artifacts"])
    while stack:
        a = stack.pop()
        if a["digest"] == digest:
            return a
        stack += a["children"] + a["accessories"]
    raise AssertionError(f"{digest} not listed")


def listed_digests(doc: dict, repository: str) -> set[str]:
    repo = next(r for r in doc["repositories"] if r["name"] == repository)
    seen, stack = set(), list(repo["artifacts"])
    while stack:
        a = stack.pop()
        seen.add(a["digest"])
        stack += a["children"] + a["accessories"]
    return seen


@pytest.fixture
def release(registry):
    b = RegistryBuilder()
    images = [b.image("team/app", arch=f"arch{i}") for i in range(3)]
    index = b.index("team/app", images, ["v1"])
    push_builder(b, registry.url)
    return images, index


def test_a_child_deleted_by_another_client_after_a_warm_load_is_missing_everywhere(registry, release, capsys):
    images, index = release
    gone = images[1]
    code, before = run_json(capsys, "ls", registry.url)  # fills the manifest cache
    assert code == 0 and gone.digest in listed_digests(before, "team/app")

    skopeo_delete(registry.host, "team/app", gone.digest)

    code, after = run_json(capsys, "ls", registry.url)
    assert code == 0
    assert gone.digest not in listed_digests(after, "team/app")
    assert ls_artifact(after, "team/app", index.digest)["missing_children"] == [gone.digest]

    main(["ls", registry.url])
    text = capsys.readouterr().out
    assert "MISSING" in text

    code, plan = run_json(capsys, "plan", registry.url, "team/app:v1")
    assert code == 0 and plan["allowed"]
    assert [m["digest"] for m in plan["missing"]] == [gone.digest]
    assert gone.digest not in {d["digest"] for d in plan["delete"]}


def test_deleting_an_index_whose_child_another_client_deleted_works_with_a_warm_cache(registry, release, capsys):
    images, index = release
    run_json(capsys, "ls", registry.url)
    skopeo_delete(registry.host, "team/app", images[0].digest)

    code, result = run_json(capsys, "delete", registry.url, "team/app:v1", "--yes")
    assert code == 0, result
    assert result["completed"]
    assert {d["digest"] for d in result["deleted"]} == {index.digest, images[1].digest, images[2].digest}
    for m in (index, *images):
        assert not present(registry.url, "team/app", m.digest)


def test_a_child_deleted_between_plan_and_delete_is_refused_once_then_the_next_run_works(registry, release, capsys):
    """The pre-delete re-check sees the deletion; the next run's plan sees it too (no eternal exit 3)."""
    images, index = release
    from ocitree.core.executor import execute_plan
    from ocitree.core.planner import plan_deletion, resolve_targets
    from ocitree.core.stores.registry.store import RegistryStore
    from ocitree.core.errors import StalePlanError

    store = RegistryStore(registry.url)
    try:
        registry_model = store.load()
        plan = plan_deletion(registry_model, resolve_targets(registry_model, ["team/app:v1"]))
        skopeo_delete(registry.host, "team/app", images[2].digest)
        with pytest.raises(StalePlanError):
            execute_plan(plan, store)
    finally:
        store.close()
    code, result = run_json(capsys, "delete", registry.url, "team/app:v1", "--yes")
    assert code == 0 and result["completed"]
    assert [m["digest"] for m in result["missing"]] == [images[2].digest]


@pytest.mark.parametrize("loser", ["a/app", "b/app"])
def test_a_digest_held_only_by_another_repository_is_missing_without_any_cache(registry, capsys, loser):
    """Same image in two repositories' indexes; another client deletes it from one of them.
    In one load (nothing cached before), the copy read in one repository must not stand in for the other."""
    b = RegistryBuilder()
    for repo in ("a/app", "b/app"):
        image = b.image(repo, arch="amd64", seed="same")
        other = b.image(repo, arch="arm64", seed=f"{repo}-own")
        b.index(repo, [image, other], ["v1"])
    push_builder(b, registry.url)
    shared = b.manifests("a/app")[0].digest
    assert shared == b.manifests("b/app")[0].digest
    keeper = "b/app" if loser == "a/app" else "a/app"
    skopeo_delete(registry.host, loser, shared)

    code, doc = run_json(capsys, "ls", registry.url)
    assert code == 0
    assert shared not in listed_digests(doc, loser)
    assert shared in listed_digests(doc, keeper)
    index = next(r for r in doc["repositories"] if r["name"] == loser)["artifacts"][0]
    assert index["missing_children"] == [shared]

    code, result = run_json(capsys, "delete", registry.url, f"{loser}:v1", "--yes")
    assert code == 0 and result["completed"], result
    assert [m["digest"] for m in result["missing"]] == [shared]
    assert present(registry.url, keeper, shared)


async def test_the_tui_shows_a_child_deleted_by_another_client_as_missing(registry, release, capsys):
    from ocitree.core.stores.registry.store import RegistryStore
    from tests.helpers.tui_pilot import screen_text, settle
    from ocitree.tui.app import OcitreeApp

    images, index = release
    run_json(capsys, "ls", registry.url)  # fills the manifest cache
    skopeo_delete(registry.host, "team/app", images[1].digest)
    store = RegistryStore(registry.url)
    app = OcitreeApp(store)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            tree = app.main_screen.registry_tree
            node = tree.reveal(("team/app", index.digest))
            node.expand()
            await settle(pilot)
            rows = [tree.render_label(n, tree.rich_style, tree.rich_style).plain for n in node.children]
    finally:
        store.close()
    hexes = [m.digest.partition(":")[2][:12] for m in images]
    assert len(rows) == 3
    assert [r for r in rows if r.startswith("missing")] == [next(r for r in rows if hexes[1] in r)]
    assert all(not r.startswith("missing") for r in rows if hexes[1] not in r)
