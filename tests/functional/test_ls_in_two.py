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
from ocitree.core.stores.layout_split import split_in_two
from ocitree.sample_data.builder import RegistryBuilder
from ocitree.tui import ls_in_two
from ocitree.tui.cli import main
from ocitree.tui.json_text import ITEM_SEPARATOR, indented_json_bytes, json_in_parts
from ocitree.tui.ls_output import registry_json
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


def test_a_damaged_layout_in_either_part_leaves_the_listing_to_one_process(tmp_path):
    root = build_root(tmp_path)
    first, second = split_in_two(LayoutStore(root).layouts)
    for name in (first[0], second[-1]):
        index = json.loads((root / name / "index.json").read_text())["manifests"][0]
        saved = blob_file(root / name, index["digest"]).read_bytes()
        blob_file(root / name, index["digest"]).write_text('{"schemaVersion": 2}')
        left, written = in_two(root, tmp_path)
        assert left is None and written == b""
        with pytest.raises(MalformedDataError, match="content does not match its digest"):
            LayoutStore(root).load()
        blob_file(root / name, index["digest"]).write_bytes(saved)


def test_the_command_says_what_the_second_part_holds_wrong(tmp_path, capfd):
    root = build_root(tmp_path)
    _, second = split_in_two(LayoutStore(root).layouts)
    (root / second[-1] / "index.json").write_text("{")
    assert main(["ls", str(root), "--json"]) == 2
    out, err = capfd.readouterr()
    assert out == "" and f"{root / second[-1] / 'index.json'}: not JSON" in err


def test_layouts_sharing_a_blob_directory_stay_in_one_part(tmp_path):
    root = build_root(tmp_path)
    layouts = LayoutStore(root).layouts
    names = list(layouts)
    shared = layouts[names[1]] / "blobs" / "sha256"
    for name in names[2:4]:  # beta's blob directory, reached from delta and echo too
        own = layouts[name] / "blobs" / "sha256"
        for blob in own.iterdir():
            if not (shared / blob.name).exists():
                shutil.move(str(blob), shared / blob.name)
        shutil.rmtree(own)
        own.symlink_to(shared, target_is_directory=True)
    first, second = split_in_two(layouts)
    assert first + second == names
    assert first == names[:1] or first == names[:4]
    left, written = in_two(root, tmp_path)
    assert left is not None and written == one_process(root)


def test_no_cut_when_every_layout_shares_one_blob_directory(tmp_path):
    root = build_root(tmp_path)
    layouts = LayoutStore(root).layouts
    shared = tmp_path / "shared"
    shared.mkdir()
    for layout in layouts.values():
        own = layout / "blobs" / "sha256"
        for blob in own.iterdir():
            if not (shared / blob.name).exists():
                shutil.move(str(blob), shared / blob.name)
        shutil.rmtree(own)
        own.symlink_to(shared, target_is_directory=True)
    assert split_in_two(layouts) is None
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
    assert split_in_two(LayoutStore(root).layouts) == (["alpha"], ["zulu"])
    assert in_two(root, tmp_path) == (None, b"")
    assert main(["ls", str(root), "--json"]) == 2
    out, err = capfd.readouterr()
    assert out == "" and "nested too deeply" in err
