"""`ls --json` of a large layout root in two processes writes exactly what one process writes, and
anything that fails makes it write nothing, so that the listing in one process says what failed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from ocitree.core.errors import MalformedDataError
from ocitree.core.stores.layout import LayoutStore
from ocitree.core.stores.layout_split import independent_runs
from ocitree.sample_data.builder import RegistryBuilder
from ocitree.tui import ls_in_two
from ocitree.tui.cli import main
from ocitree.tui.json_text import ITEM_SEPARATOR, indented_json_bytes, json_in_parts
from ocitree.tui.ls_output import registry_json
from ocitree.tui.two_ended_claims import TwoEndedClaims
from tests.helpers.sources.layout_source import blob_file

pytestmark = pytest.mark.skipif(sys.platform != "linux" or len(os.sched_getaffinity(0)) < 2,
                                reason="two processes only on Linux with two CPUs")

NAMES = ["alpha", "beta", "caf\u00e9-free", "delta", "echo"]


@pytest.fixture(autouse=True)
def any_root_is_large_enough(monkeypatch):
    monkeypatch.setattr(ls_in_two, "MIN_WORK", 0)
    # Threads other tests leave (a registry's proxy) hold nothing the child uses; a user's `ocitree ls` has none.
    monkeypatch.setattr(ls_in_two, "_only_thread", lambda: True)


def build_root(tmp_path: Path) -> Path:
    builder = RegistryBuilder()
    for n, name in enumerate(["alpha", "beta", "delta", "echo", "golf"]):
        for v in range(n + 1):
            images = [builder.image(name, arch=arch, seed=f"{name}{v}{arch}") for arch in ("amd64", "arm64")]
            signed = builder.accessory(name, images[0], "signature")
            builder.index(name, images, [f"v{v}"] + (["latest"] if v == n else []))
            builder.tag(signed, f"s{v}")
    return builder.write_layouts(tmp_path / "root")


def one_process(root: Path) -> bytes:
    return indented_json_bytes(registry_json(LayoutStore(root).load())) + b"\n"


def in_two(root: Path, tmp_path: Path) -> tuple[list[object] | None, bytes]:
    path = tmp_path / "listing.json"
    with open(path, "w") as out:
        left = ls_in_two.write_json_in_two(LayoutStore(root), out)
    return left, path.read_bytes()


def test_two_processes_write_the_listing_one_process_writes(tmp_path):
    root = build_root(tmp_path)
    left, written = in_two(root, tmp_path)
    assert left is not None, "listed in two processes"
    assert written == one_process(root)
    json.loads(written)


@pytest.mark.parametrize("starved", ["child", "parent"])
def test_a_process_that_takes_no_run_or_only_its_first_changes_nothing(tmp_path, monkeypatch, starved):
    root = build_root(tmp_path)
    take = TwoEndedClaims.take
    taken = []

    def slow(self, from_front):
        if from_front == (starved == "parent") and (starved == "child" or taken):
            return None  # as if that process got no CPU while the other took every run
        taken.append(from_front)
        return take(self, from_front)

    monkeypatch.setattr(TwoEndedClaims, "take", slow)
    left, written = in_two(root, tmp_path)
    assert left is not None and written == one_process(root)


def test_each_run_is_taken_once_and_each_process_holds_consecutive_ones():
    claims = TwoEndedClaims(50)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        mine = []
        while (unit := claims.take(from_front=False)) is not None:
            mine.append(unit)
        os.write(write, json.dumps(mine).encode())
        os._exit(0)
    os.close(write)
    front = []
    while (unit := claims.take(from_front=True)) is not None:
        front.append(unit)
    back = json.loads(os.read(read, 1 << 16))
    os.waitpid(pid, 0)
    claims.close()
    assert front == list(range(len(front))) and back == list(range(49, len(front) - 1, -1))


def test_a_damaged_layout_in_either_part_leaves_the_listing_to_one_process(tmp_path):
    root = build_root(tmp_path)
    names = list(LayoutStore(root).layouts)
    for name in (names[0], names[-1]):
        index = json.loads((root / name / "index.json").read_text())["manifests"][0]
        saved = blob_file(root / name, index["digest"]).read_bytes()
        blob_file(root / name, index["digest"]).write_text('{"schemaVersion": 2}')
        left, written = in_two(root, tmp_path)
        assert left is None and written == b""
        with pytest.raises(MalformedDataError, match="content does not match its digest"):
            LayoutStore(root).load()
        blob_file(root / name, index["digest"]).write_bytes(saved)


def test_the_command_says_what_the_last_layout_holds_wrong(tmp_path, capfd):
    root = build_root(tmp_path)
    last = list(LayoutStore(root).layouts)[-1]
    (root / last / "index.json").write_text("{")
    assert main(["ls", str(root), "--json"]) == 2
    out, err = capfd.readouterr()
    assert out == "" and f"{root / last / 'index.json'}: not JSON" in err


def share_blob_directory(layouts: list[Path], shared: Path) -> None:
    """Each layout's blobs/sha256 moved into `shared`, a symlink to it in its place."""
    shared.mkdir(exist_ok=True)
    for layout in layouts:
        own = layout / "blobs" / "sha256"
        if own == shared:
            continue
        for blob in own.iterdir():
            if not (shared / blob.name).exists():
                shutil.move(str(blob), shared / blob.name)
        shutil.rmtree(own)
        own.symlink_to(shared, target_is_directory=True)


def test_layouts_sharing_a_blob_directory_stay_in_one_run(tmp_path):
    root = build_root(tmp_path)
    layouts = LayoutStore(root).layouts
    names = list(layouts)
    share_blob_directory([layouts[n] for n in names[2:4]], layouts[names[1]] / "blobs" / "sha256")  # beta's, from delta and echo too
    assert independent_runs(layouts) == [names[:1], names[1:4], names[4:]]
    left, written = in_two(root, tmp_path)
    assert left is not None and written == one_process(root)


def test_layouts_whose_blob_files_link_into_another_layout_stay_in_its_run(tmp_path):
    root = build_root(tmp_path)
    layouts = LayoutStore(root).layouts
    names = list(layouts)
    last, target = layouts[names[-1]] / "blobs" / "sha256", layouts[names[1]] / "blobs" / "sha256"
    for blob in last.iterdir():  # golf's blob files moved into beta's directory, a link to each left in place
        shutil.move(str(blob), target / blob.name)
        blob.symlink_to(target / blob.name)
    assert independent_runs(layouts) == [names[:1], names[1:]]
    left, written = in_two(root, tmp_path)
    assert left is not None and written == one_process(root)


def test_one_process_when_every_layout_shares_one_blob_directory(tmp_path):
    root = build_root(tmp_path)
    layouts = LayoutStore(root).layouts
    share_blob_directory(list(layouts.values()), tmp_path / "shared")
    assert independent_runs(layouts) == [list(layouts)]
    assert in_two(root, tmp_path) == (None, b"")


@pytest.mark.parametrize("source", ["/plain/path", "caf\u00e9", "tab\there"])
def test_documents_cut_around_their_items_join_into_the_one_json_dumps_writes(source):
    doc = {"source": source, "repositories": [{"name": n, "artifacts": [{"a": [1, {}], "b": n}]} for n in NAMES]}
    head, first, _ = json_in_parts({**doc, "repositories": doc["repositories"][:2]}, "repositories")
    _, second, tail = json_in_parts({**doc, "repositories": doc["repositories"][2:]}, "repositories")
    joined = head + bytes(first) + ITEM_SEPARATOR + bytes(second) + tail
    assert joined.decode("ascii") == json.dumps(doc, indent=2)


def test_one_process_where_an_ignored_sigchld_would_hide_how_the_child_ended(tmp_path):
    root = build_root(tmp_path)
    before = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        assert in_two(root, tmp_path) == (None, b"")
    finally:
        signal.signal(signal.SIGCHLD, before)


@pytest.mark.parametrize("deep", ["alpha", "zulu"])
def test_indexes_nested_too_deeply_in_either_part_are_said_as_by_one_process(tmp_path, capfd, deep):
    builder = RegistryBuilder()
    for name in ("alpha", "zulu"):
        inner = builder.image(name, ["v1"], seed=name)
        for n in range(3000 if name == deep else 1):
            inner = builder.index(name, [inner], tags=["top"] if n == 0 else [])
    root = builder.write_layouts(tmp_path / "root")
    assert independent_runs(LayoutStore(root).layouts) == [["alpha"], ["zulu"]]
    assert in_two(root, tmp_path) == (None, b"")
    assert main(["ls", str(root), "--json"]) == 2
    out, err = capfd.readouterr()
    assert out == "" and "nested too deeply" in err
