"""ocitree killed (SIGKILL) in the middle of a delete: running the same command again finishes the job,
on every store (issue 7 §2). The kills are real: a separate `ocitree delete` process is killed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from ocitree.core import media_types as mt
from ocitree.sample_data.builder import RegistryBuilder
from tests.helpers.binaries import require_binary
from tests.helpers.registry_fault_proxy import Fault
from tests.helpers.registry_push import push_builder
from ocitree.core.stores.layout_writer import PENDING_FILE
from tests.helpers.sources.layout_source import has_blob, index_tags
from tests.functional.test_layout_skopeo import assert_every_tag_reads
from ocitree.tui.cli import main

R = "team/app"
ROOT = Path(__file__).resolve().parents[2]


def present(url: str, digest: str, repository: str = R) -> bool:
    return httpx.head(f"{url}/v2/{repository}/manifests/{digest}", headers={"Accept": mt.ACCEPT_MANIFESTS}).status_code == 200


def ocitree_process(*args: str, kill_at: str | None = None) -> subprocess.Popen:
    """`ocitree ARGS` in its own process; `kill_at` names a function (module:attribute) that,
    when called, SIGKILLs the process: a crash at exactly that point, with no cleanup."""
    code = "import sys, ocitree.tui.cli\n"
    if kill_at:
        module, _, path = kill_at.partition(":")
        *owners, attribute = path.split(".")
        code += textwrap.dedent(f"""
            import os, signal, importlib
            owner = importlib.import_module({module!r})
            for name in {owners!r}:
                owner = getattr(owner, name)
            setattr(owner, {attribute!r}, lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL))
        """)
    code += f"sys.exit(ocitree.tui.cli.main({list(args)!r}))\n"
    # The plan goes nowhere: a large one would fill a pipe nobody reads and stall the process.
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def killed(process: subprocess.Popen) -> None:
    _, err = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL, err.decode()


def large_index_and_neighbour(b: RegistryBuilder, children: int):
    images = [b.image(R, arch=f"arch{i}", layer_sizes=(64,)) for i in range(children)]
    shared = b.image(R, arch="shared", layer_sizes=(64,))
    v1 = b.index(R, [*images, shared], ["v1"])
    own = b.image(R, arch="own", layer_sizes=(64,))
    v2 = b.index(R, [shared, own], ["v2"])
    return images, shared, v1, own, v2


@pytest.mark.registry
def test_registry_delete_killed_after_a_few_deletes_is_finished_by_the_same_command(registry, registry_proxy, capsys):
    b = RegistryBuilder()
    images, shared, v1, own, v2 = large_index_and_neighbour(b, 30)
    push_builder(b, registry.url)
    registry_proxy.add(Fault(method="DELETE", path="/manifests/sha256:", delay=0.2))

    process = ocitree_process("delete", registry_proxy.url, f"{R}:v1", "--yes")
    deadline = time.monotonic() + 60
    while sum(1 for m, _, status in registry_proxy.answers if m == "DELETE" and status == 202) < 4:
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read().decode()
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    killed(process)
    registry_proxy.clear()
    assert not present(registry.url, v1.digest)
    assert sum(present(registry.url, m.digest) for m in images) >= len(images) - 4
    capsys.readouterr()
    assert main(["ls", registry_proxy.url]) == 0  # the leftovers are explained, with what to do
    assert f"{R}:v1: a delete interrupted at" in capsys.readouterr().err

    assert main(["delete", registry_proxy.url, f"{R}:v1", "--yes"]) == 0
    assert "interrupted" in capsys.readouterr().err
    assert not any(present(registry.url, m.digest) for m in images)
    # Only that REF's content went: the child it shared with v2, and v2, stay.
    assert all(present(registry.url, m.digest) for m in (shared, own, v2))
    assert present(registry.url, "v2")
    # Finished: the same command now says the REF is unknown.
    assert main(["delete", registry_proxy.url, f"{R}:v1", "--yes"]) == 2


def prune_json(*args: str, capsys) -> dict:
    capsys.readouterr()
    assert main(["prune", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.registry
def test_registry_prune_killed_after_a_few_deletes_is_finished_by_the_same_prune(registry, registry_proxy, capsys):
    b = RegistryBuilder()
    images, shared, v1, own, v2 = large_index_and_neighbour(b, 30)
    push_builder(b, registry.url)
    registry_proxy.add(Fault(method="DELETE", path="/manifests/sha256:", delay=0.2))

    process = ocitree_process("prune", registry_proxy.url, "--tags", "v1", "--yes")
    deadline = time.monotonic() + 60
    while sum(1 for m, _, status in registry_proxy.answers if m == "DELETE" and status == 202) < 4:
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read().decode()
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    killed(process)
    registry_proxy.clear()
    assert not present(registry.url, v1.digest)

    # Another rule does not finish this one's run: it names none of what the cut-off run left.
    other = prune_json(registry_proxy.url, "--tags", "v9", "--dry-run", capsys=capsys)
    assert other["resumed"] == [] and other["delete"] == []
    # The same prune plans the leftovers under the REF it deleted, and says so.
    preview = prune_json(registry_proxy.url, "--tags", "v1", "--dry-run", capsys=capsys)
    assert [(r["reference"], r["digest"]) for r in preview["resumed"]] == [(f"{R}:v1", v1.digest)]
    # The DELETE under way at the kill may land later: what is present now is planned, and no more than v1's.
    left = {m.digest for m in images if present(registry.url, m.digest)}
    assert len(left) >= len(images) - 5
    assert left <= {d["digest"] for d in preview["delete"]} <= {m.digest for m in images}

    assert main(["prune", registry_proxy.url, "--tags", "v1", "--yes"]) == 0
    assert f"{R}:v1 was deleted by a prune interrupted at" in capsys.readouterr().err
    assert not any(present(registry.url, m.digest) for m in images)
    # Nothing else: the child v1 shared with v2, and v2, stay.
    assert all(present(registry.url, m.digest) for m in (shared, own, v2))
    assert present(registry.url, "v2")
    # Finished: the same prune now finds nothing, and resumes nothing.
    again = prune_json(registry_proxy.url, "--tags", "v1", "--dry-run", capsys=capsys)
    assert again["resumed"] == [] and again["delete"] == []


def test_sample_delete_killed_after_the_file_is_written_is_finished_by_the_same_command(tmp_path, capsys):
    b = RegistryBuilder()
    images, shared, v1, own, v2 = large_index_and_neighbour(b, 3)
    path = b.write_sample(tmp_path / "registry.json")

    killed(ocitree_process("delete", str(path), f"{R}:v1", "--yes", kill_at="ocitree.core.interrupted:InterruptedRuns.finish"))

    assert main(["delete", str(path), f"{R}:v1", "--yes"]) == 0
    assert "nothing it left remains" in capsys.readouterr().err
    assert main(["delete", str(path), f"{R}:v1", "--yes"]) == 2


# -- OCI layouts ------------------------------------------------------------------------------------


def killed_after_index_json(root: Path, ref: str) -> None:
    """`ocitree delete` killed after it replaced index.json, before it removed a single blob."""
    killed(ocitree_process("delete", str(root), ref, "--yes", kill_at="ocitree.core.stores.layout:remove_blobs"))


def orphaned_layout(tmp_path: Path, children: int = 200):
    b = RegistryBuilder()
    images, shared, v1, own, v2 = large_index_and_neighbour(b, children)
    root = b.write_layouts(tmp_path / "layouts")
    layout = root / R
    v1_blobs = {v1.digest, *(m.digest for m in images), *(x for m in images for x in b.blobs_of(m))}
    killed_after_index_json(root, f"{R}:v1")
    assert set(index_tags(layout)) == {"v2"}
    assert all(has_blob(layout, d) for d in v1_blobs)  # orphaned: nothing lists them any more
    return b, root, layout, v1_blobs, (shared, own, v2)


def test_ls_shows_a_layouts_unreferenced_blobs_as_leftovers_with_their_size(tmp_path, capsys):
    b, root, layout, v1_blobs, _ = orphaned_layout(tmp_path, children=20)
    size = sum((layout / "blobs" / "sha256" / d.split(":")[1]).stat().st_size for d in v1_blobs)

    assert main(["ls", str(root), "--json"]) == 0
    repo = json.loads(capsys.readouterr().out)["repositories"][0]
    assert {x["digest"] for x in repo["leftover_blobs"]} == v1_blobs
    assert sum(x["size"] for x in repo["leftover_blobs"]) == size

    assert main(["ls", str(root)]) == 0
    text = capsys.readouterr().out
    assert f"{len(v1_blobs)} unreferenced blobs" in text and "leftover" in text


@pytest.mark.skopeo
def test_layout_delete_killed_after_index_json_is_finished_by_the_same_command(tmp_path, capsys):
    require_binary("skopeo", "skopeo")
    b, root, layout, v1_blobs, kept = orphaned_layout(tmp_path, children=2000)

    assert main(["delete", str(root), f"{R}:v1", "--yes"]) == 0
    assert not any(has_blob(layout, d) for d in v1_blobs)
    assert all(has_blob(layout, m.digest) for m in kept)
    capsys.readouterr()
    assert main(["ls", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["repositories"][0]["leftover_blobs"] == []
    assert not (layout / PENDING_FILE).exists()
    assert assert_every_tag_reads(layout, tmp_path / "scratch") == 1


@pytest.mark.skopeo
def test_any_later_delete_on_the_layout_finishes_removing_the_orphaned_blobs(tmp_path):
    require_binary("skopeo", "skopeo")
    b, root, layout, v1_blobs, (shared, own, v2) = orphaned_layout(tmp_path, children=20)
    b2 = RegistryBuilder()
    extra = b2.image(R, ["extra"], arch="extra", layer_sizes=(64,))
    other = b2.write_layouts(tmp_path / "other")
    # A second tag in the same layout, to delete later (the layout gains it by hand, as skopeo copy would).
    for d in [extra.digest, *b2.blobs_of(extra)]:
        (layout / "blobs" / "sha256" / d.split(":")[1]).write_bytes((other / R / "blobs" / "sha256" / d.split(":")[1]).read_bytes())
    doc = json.loads((layout / "index.json").read_text())
    doc["manifests"].append({"mediaType": extra.media_type, "digest": extra.digest, "size": extra.size,
                             "annotations": {"org.opencontainers.image.ref.name": "extra"}})
    (layout / "index.json").write_text(json.dumps(doc))

    assert main(["delete", str(root), f"{R}:extra", "--yes"]) == 0
    assert not any(has_blob(layout, d) for d in v1_blobs)
    assert not has_blob(layout, extra.digest)
    assert set(index_tags(layout)) == {"v2"}
    assert assert_every_tag_reads(layout, tmp_path / "scratch") == 1
