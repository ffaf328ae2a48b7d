"""Registry storage read directly (issue 14), against the real docker-registry and its own
`garbage-collect`: what `ocitree ls STORAGE` shows against the API, deleting through --api and
--offline (checked through the API after a restart), and reclaimable bytes against the bytes of
blob files garbage-collect really removes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from ocitree.core import media_types as mt
from ocitree.core.sources import open_store
from ocitree.core.stores.options import SourceOptions
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.registry_push import push_blob, push_builder
from tests.helpers.scenarios import SCENARIOS, build_all, ref_for
from ocitree.tui.cli import main
from ocitree.tui.plan_text import human_bytes
from ocitree.tui.widgets.source_header import HeaderState, status_text

pytestmark = pytest.mark.registry


def storage_of(server) -> Path:
    return server.root / "storage"  # tests/helpers/registry_server.py: storage.filesystem.rootdirectory


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def present(url: str, repository: str, digest: str) -> bool:
    response = httpx.head(f"{url}/v2/{repository}/manifests/{digest}", headers={"Accept": mt.ACCEPT_MANIFESTS})
    assert response.status_code in (200, 404), response.status_code
    return response.status_code == 200


def api_tags(url: str, repository: str) -> set[str]:
    response = httpx.get(f"{url}/v2/{repository}/tags/list")
    return set(response.json().get("tags") or []) if response.status_code == 200 else set()


def blob_files(storage: Path) -> dict[str, int]:
    """Every blob file garbage-collect considers, with its size."""
    out = {}
    for data in (storage / "docker/registry/v2/blobs").glob("*/*/*/data"):
        out[f"{data.parent.parent.parent.name}:{data.parent.name}"] = data.stat().st_size
    return out


def garbage_collect(server, delete_untagged: bool) -> int:
    """Run the registry's own garbage collector (server stopped); the bytes of blob files it removed."""
    assert server.process is None, "garbage-collect needs the registry stopped"
    before = blob_files(storage_of(server))
    args = [server.binary, "garbage-collect", str(server.root / "config.yml")] + (["--delete-untagged"] if delete_untagged else [])
    subprocess.run(args, check=True, capture_output=True, timeout=120)
    after = blob_files(storage_of(server))
    assert set(after) <= set(before)
    return sum(size for digest, size in before.items() if digest not in after)


def push_scenarios_and_leftovers(url: str):
    """The public scenarios, plus per scenario repository an untagged image pushed by digest only
    (the API cannot list it) and one blob no manifest uses (reclaimable before any delete)."""
    builder, built = build_all()
    leftovers = {}
    for s in SCENARIOS:
        leftovers[s.repo] = builder.image(s.repo, seed=f"leftover-{s.number}", layer_sizes=(300 + s.number,)).digest
    push_builder(builder, url)
    with httpx.Client() as client:
        push_blob(client, url, "s1/app", "sha256:" + __import__("hashlib").sha256(b"orphan blob").hexdigest(), b"orphan blob")
    return builder, built, leftovers


def _without_untagged(repo: dict, extra: set[str]) -> dict:
    kept = [a for a in repo["artifacts"] if a["digest"] not in extra]
    out = {**repo, "artifacts": kept}
    if "artifact_count" in repo:
        out["artifact_count"] = repo["artifact_count"] - (len(repo["artifacts"]) - len(kept))
    return out


def test_ls_storage_lists_what_the_api_lists_plus_untagged_manifests_pushed_by_digest(registry, capsys):
    builder, built, leftovers = push_scenarios_and_leftovers(registry.url)
    code, out, err = run(capsys, "ls", registry.url, "--json")
    assert code == 0, err
    over_api = json.loads(out)
    code, out, err = run(capsys, "ls", str(storage_of(registry)), "--json")
    assert code == 0, err
    on_disk = json.loads(out)

    api_repos = {r["name"]: r for r in over_api["repositories"]}
    disk_repos = {r["name"]: r for r in on_disk["repositories"]}
    assert set(disk_repos) == set(api_repos) == set(builder.repositories())
    for name, repo in disk_repos.items():
        extra = {leftovers[name]} if name in leftovers else set()
        listed = {a["digest"] for a in repo["artifacts"]}
        assert extra <= listed, f"{name}: the untagged manifest pushed by digest is not shown"
        for a in repo["artifacts"]:
            if a["digest"] in extra:
                assert a["tags"] == [] and a["parents"] == []
        # Everything else is exactly what the API shows, tree for tree.
        assert _without_untagged(repo, extra) == api_repos[name]
        assert not any(a["digest"] in extra for a in api_repos[name]["artifacts"])
    # One blob no manifest uses: garbage-collect would free it today, --delete-untagged more.
    assert on_disk["reclaimable_now"]["bytes"] == len(b"orphan blob")
    assert on_disk["reclaimable_now"]["delete_untagged_bytes"] > len(b"orphan blob")
    assert "reclaimable_now" not in over_api


def test_storage_path_may_be_the_v2_directory_itself(registry, capsys):
    push_builder(build_all()[0], registry.url)
    code, out, err = run(capsys, "ls", str(storage_of(registry) / "docker/registry/v2"), "--json")
    assert code == 0, err
    assert len(json.loads(out)["repositories"]) == 13


@pytest.mark.parametrize("delete_untagged", [False, True], ids=["plain", "delete-untagged"])
def test_garbage_collect_frees_exactly_what_the_plan_and_the_header_say(registry, capsys, delete_untagged):
    builder, built, leftovers = push_scenarios_and_leftovers(registry.url)
    storage = str(storage_of(registry))
    registry.stop()
    by_number = {s.number: s for s in SCENARIOS}
    # An index with a shared child, an image with its signature, content also in another
    # repository (its blobs stay), and an untagged leftover only the storage shows.
    refs = [ref_for(by_number[3], built[3], "I"), ref_for(by_number[9], built[9], "M"),
            ref_for(by_number[12], built[12], "M"), f"s2/app@{leftovers['s2/app']}"]
    code, out, err = run(capsys, "delete", storage, *refs, "--offline", "--yes", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["completed"] is True
    gc = plan["garbage_collect"]
    assert plan["reclaimable_bytes"] == gc["frees"] - gc["reclaimable_now"] > 0
    assert gc["reclaimable_now"] == len(b"orphan blob")

    # The header and ls --json, on the storage as the deletion left it, say the same figure.
    store = open_store(storage)
    loaded = store.load()
    header = status_text(HeaderState(storage, registry=loaded, read_only=store.read_only,
                                     read_only_reason=store.read_only_reason)).plain
    now = loaded.garbage_collect_now()
    expected = now.reclaimable_now_delete_untagged if delete_untagged else now.reclaimable_now
    assert expected == (gc["frees_delete_untagged"] if delete_untagged else gc["frees"])
    if not delete_untagged:
        assert f"reclaimable now {human_bytes(now.reclaimable_now)}" in header
    assert "READ-ONLY" in header and "--api or --offline" in header

    freed = garbage_collect(registry, delete_untagged)
    assert freed == expected

    # The registry still serves what was kept.
    registry.start()
    assert present(registry.url, "s12/other", built[12]["OTHER"].digest)
    # 2.8's --delete-untagged also unlinks untagged children of indexes that stay (upstream #3178);
    # the figure above counted that, and the plan text warns of it.
    assert present(registry.url, "s3/app", built[3]["C10"].digest) is not delete_untagged
    if not delete_untagged:
        # and a second collection finds nothing more, as ocitree says.
        registry.stop()
        again = open_store(storage).load().garbage_collect_now().reclaimable_now
        assert again == 0 == garbage_collect(registry, False)


def test_delete_offline_removes_revision_and_tag_links_only(registry, capsys):
    builder, built, leftovers = push_scenarios_and_leftovers(registry.url)
    storage = storage_of(registry)
    registry.stop()
    files_before = {p.relative_to(storage) for p in storage.rglob("*")}
    s2 = built[2]
    code, out, err = run(capsys, "delete", str(storage), "s2/app:latest", f"s1/app@{leftovers['s1/app']}", "--offline", "--yes")
    assert code == 0, err + out
    assert "garbage-collect" in out  # the plan says blob files wait for the collector
    files_after = {p.relative_to(storage) for p in storage.rglob("*")}
    removed = files_before - files_after
    assert files_after <= files_before
    v2 = Path("docker/registry/v2/repositories")
    for repo, digest in [("s2/app", s2["I"].digest), ("s2/app", s2["A"].digest), ("s2/app", s2["B"].digest),
                         ("s1/app", leftovers["s1/app"])]:
        assert v2 / repo / "_manifests/revisions/sha256" / digest.split(":")[1] / "link" in removed
    tag_dir = v2 / "s2/app/_manifests/tags/latest"
    assert {p for p in removed if not p.name == "link" or "revisions" not in p.parts} == \
        {p for p in files_before if p == tag_dir or tag_dir in p.parents}
    assert not any("blobs" in p.parts for p in removed)

    registry.start()
    for name in ("I", "A", "B"):
        assert not present(registry.url, "s2/app", s2[name].digest)
    assert not present(registry.url, "s1/app", leftovers["s1/app"])
    assert api_tags(registry.url, "s2/app") == set()
    assert present(registry.url, "s1/app", built[1]["M"].digest)
    assert api_tags(registry.url, "s1/app") == {"v1", "v2"}


def test_delete_through_the_api_in_top_down_order_confirmed_on_storage(registry, capsys):
    builder, built, leftovers = push_scenarios_and_leftovers(registry.url)
    storage = str(storage_of(registry))
    s7 = built[7]
    code, out, err = run(capsys, "delete", storage, "s7/app:r", f"s4/app@{leftovers['s4/app']}",
                         "--api", registry.url, "--yes", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["completed"] is True
    order = [d["digest"] for d in doc["deleted"]]
    assert order.index(s7["R"].digest) < order.index(s7["I1"].digest) < order.index(s7["C1"].digest)
    registry.restart()
    for name in ("R", "I1", "C1", "C2", "C3"):
        assert not present(registry.url, "s7/app", s7[name].digest)
    assert not present(registry.url, "s4/app", leftovers["s4/app"])
    assert present(registry.url, "s4/app", built[4]["I"].digest)
    # The storage, read again, agrees.
    code, out, err = run(capsys, "ls", storage, "--json")
    repos = {r["name"]: r for r in json.loads(out)["repositories"]}
    assert [a["digest"] for a in repos["s7/app"]["artifacts"]] == [leftovers["s7/app"]]
    assert leftovers["s4/app"] not in {a["digest"] for a in repos["s4/app"]["artifacts"]}


def test_api_that_is_not_this_storages_registry_is_refused_before_any_delete(registry_factory, capsys):
    serving = registry_factory()
    other = registry_factory()
    builder, built, leftovers = push_scenarios_and_leftovers(serving.url)
    code, out, err = run(capsys, "delete", str(storage_of(serving)), "s1/app:v1", "--api", other.url, "--yes")
    assert code == 1
    assert "does not serve repository 's1/app'" in err and "nothing was deleted" in err
    assert present(serving.url, "s1/app", built[1]["M"].digest)


def test_api_that_answers_but_does_not_serve_this_storage_stops_after_one_delete(registry_factory, capsys):
    serving = registry_factory()
    mirror = registry_factory()
    builder, built, leftovers = push_scenarios_and_leftovers(serving.url)
    push_builder(builder, mirror.url)
    code, out, err = run(capsys, "delete", str(storage_of(serving)), "s2/app:latest", "--api", mirror.url, "--yes")
    assert code == 1
    assert "still links it" in out + err
    assert "stopped after deleting 0;" in out + err  # the DELETE the storage did not see is not counted
    assert present(serving.url, "s2/app", built[2]["A"].digest)


def test_storage_without_api_or_offline_is_read_only_and_says_why(registry, capsys):
    push_builder(build_all()[0], registry.url)
    storage = str(storage_of(registry))
    code, out, err = run(capsys, "delete", storage, "s1/app:v1", "--yes")
    assert code == 2
    assert "--api URL" in err and "--offline" in err and "nothing was deleted" in err
    assert len(err.strip().splitlines()) == 1
    assert present(registry.url, "s1/app", build_all()[1][1]["M"].digest)
    store = open_store(storage)
    assert store.read_only and "--api or --offline" in store.read_only_reason


def test_api_and_offline_are_only_for_registry_storage(tmp_path, capsys):
    sample = RegistryBuilder()
    sample.image("a/b", ["v1"])
    path = sample.write_sample(tmp_path / "s.json")
    code, out, err = run(capsys, "ls", str(path), "--offline")
    assert code == 2 and "registry's storage directory" in err


@pytest.mark.parametrize("damage, expected", [
    (lambda v2: (v2.parent / "v2").rename(v2.parent / "v3"), "not v2"),
    (lambda v2: (v2 / "blobs" / "md5").mkdir(), "unexpected entry 'md5'"),
    (lambda v2: next((v2 / "repositories").glob("*/app/_manifests/tags/*/current/link")).write_text("not a digest"),
     "not a digest"),
])
def test_unrecognised_storage_layout_is_a_one_line_error(registry, capsys, damage, expected):
    push_builder(build_all()[0], registry.url)
    registry.stop()
    v2 = storage_of(registry) / "docker/registry/v2"
    damage(v2)
    code, out, err = run(capsys, "ls", str(storage_of(registry)))
    assert code == 2
    assert expected in err and len(err.strip().splitlines()) == 1


def test_api_deletes_use_the_registry_auth_options(registry_basic_auth, capsys, monkeypatch):
    server = registry_basic_auth
    builder, built = build_all()
    push_builder(builder, server.url, auth=(server.username, server.password))
    storage = str(storage_of(server))
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("wrong-password\n"))
    code, out, err = run(capsys, "delete", storage, "s1/app:v1", "--api", server.url, "--username", server.username,
                         "--password-stdin", "--yes")
    assert code == 1 and "nothing was deleted" in err and "wrong-password" not in out + err
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(server.password + "\n"))
    code, out, err = run(capsys, "delete", storage, "s1/app:v1", "--api", server.url, "--username", server.username,
                         "--password-stdin", "--yes")
    assert code == 0, err
    assert server.password not in out + err
    code, out, err = run(capsys, "ls", storage, "--json")
    repos = {r["name"]: r for r in json.loads(out)["repositories"]}
    assert repos["s1/app"]["artifacts"] == []


def test_offline_deletes_take_turns(tmp_path):
    from bench.storage_bench import generate

    generate(tmp_path, repositories=1, releases=2, platforms=1, tagged=1)
    store = open_store(str(tmp_path), SourceOptions(offline=True))
    with store.session({"bench/service-000"}):
        with pytest.raises(Exception) as caught:
            store.session({"bench/service-000"}).__enter__()
        assert "another ocitree is deleting" in str(caught.value) and "nothing was deleted" in str(caught.value)
    with store.session({"bench/service-000"}) as again:  # the lock went with the first session
        assert "bench/service-000" in again.current().repositories
