"""The sample store's writes: atomic, nothing left behind, nothing lost on failure; and the
audit record every executed plan leaves."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import stat
from pathlib import Path

import pytest

from ocitree.core.errors import StoreError
from ocitree.core.executor import execute_plan
from ocitree.core.planner import plan_deletion, resolve_targets
from ocitree.core.stores.options import SourceOptions
from ocitree.core.stores.sample import SampleStore
from ocitree.sample_data.builder import RegistryBuilder
from ocitree.tui.cli import main

REPO = "team/app"


def write_registry(path: Path) -> dict:
    b = RegistryBuilder()
    a, c = b.image(REPO, arch="amd64"), b.image(REPO, arch="arm64")
    index = b.index(REPO, [a, c], ["latest"])
    single = b.image(REPO, ["v1", "v1.0"], arch="s390x")
    b.write_sample(path)
    return {"a": a, "c": c, "index": index, "single": single}


def delete(store: SampleStore, *refs: str, audit_log: Path | None = None):
    registry = store.load()
    plan = plan_deletion(registry, resolve_targets(registry, refs))
    return plan, execute_plan(plan, store, audit_log=audit_log)


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "registry.json"
    built = write_registry(path)
    os.chmod(path, 0o640)
    inode = path.stat().st_ino
    _, result = delete(SampleStore(path), f"{REPO}:latest")
    assert result.completed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.json", "registry.json.lock"]
    assert path.stat().st_ino != inode  # replaced by rename, never rewritten in place
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the user's permissions survive
    doc = json.loads(path.read_text())
    assert [e["digest"] for e in doc["repositories"][REPO]] == [built["single"].digest]


def test_failed_write_leaves_the_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "registry.json"
    write_registry(path)
    before = path.read_bytes()

    replace = os.replace

    def refuse(src, dst):
        if str(dst) != str(path):  # ocitree's own state files are written as usual
            return replace(src, dst)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    audit = tmp_path / "audit.jsonl"
    plan, result = delete(SampleStore(path), f"{REPO}:latest", audit_log=audit)
    assert not result.completed
    assert result.deleted == [] and len(result.not_done) == len(plan.delete) == 3
    assert "No space left on device" in result.failed[0].error and "unchanged" in result.failed[0].error
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.jsonl", "registry.json", "registry.json.lock"]
    record = json.loads(audit.read_text())
    assert record["result"] == "incomplete" and record["deleted"] == []



def test_directory_sync_failing_after_the_rename_does_not_report_an_unchanged_file(tmp_path, monkeypatch):
    """Some filesystems refuse fsync on a directory (EINVAL); by then the new file is in place."""
    path = tmp_path / "registry.json"
    built = write_registry(path)

    def refuse(directory):
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr("ocitree.core.durable_files.fsync_directory", refuse)
    _, result = delete(SampleStore(path), f"{REPO}:latest")
    doc = json.loads(path.read_text())
    assert [e["digest"] for e in doc["repositories"][REPO]] == [built["single"].digest]
    assert result.completed and len(result.deleted) == 3

def test_unwritable_file_is_a_store_error_not_a_crash(tmp_path, monkeypatch):
    path = tmp_path / "registry.json"
    write_registry(path)
    before = path.read_bytes()

    import tempfile

    mkstemp = tempfile.mkstemp

    def refuse(*args, **kwargs):
        if kwargs.get("dir") != path.parent:  # ocitree's own state files are written as usual
            return mkstemp(*args, **kwargs)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    _, result = delete(SampleStore(path), f"{REPO}:v1")
    assert not result.completed and "cannot write" in result.failed[0].error
    assert path.read_bytes() == before


def test_audit_record_says_who_deleted_what_from_where(tmp_path):
    path = tmp_path / "registry.json"
    built = write_registry(path)
    audit = tmp_path / "logs" / "audit.jsonl"  # its directory is created when needed
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    delete(SampleStore(path), f"{REPO}:latest", audit_log=audit)
    delete(SampleStore(path), f"{REPO}:v1", audit_log=audit)
    first, second = (json.loads(line) for line in audit.read_text().splitlines())
    assert set(first) >= {"time", "user", "source", "targets", "deleted", "result"}
    assert dt.datetime.fromisoformat(first["time"]) >= start
    assert first["user"] == getpass.getuser()
    assert first["source"] == str(path)
    assert first["targets"] == [f"{REPO}:latest"]
    assert first["result"] == "completed"
    assert [(d["repository"], d["digest"]) for d in first["deleted"]] == [
        (REPO, built["index"].digest), (REPO, built["a"].digest), (REPO, built["c"].digest)
    ]
    assert first["deleted"][0]["tags"] == ["latest"]
    assert second["targets"] == [f"{REPO}:v1"] and second["deleted"][0]["tags"] == ["v1", "v1.0"]
    assert stat.S_IMODE(audit.stat().st_mode) == 0o600  # who deleted what is not for everyone


def test_command_line_writes_the_audit_record_where_the_config_says(tmp_path, isolated_home, capsys):
    path = tmp_path / "registry.json"
    write_registry(path)
    audit = tmp_path / "elsewhere" / "ocitree-audit.jsonl"
    config = isolated_home / "config" / "ocitree" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'audit_log = "{audit}"\n')
    assert main(["delete", str(path), f"{REPO}:latest", "--yes"]) == 0
    (line,) = audit.read_text().splitlines()
    record = json.loads(line)
    assert record["targets"] == [f"{REPO}:latest"] and len(record["deleted"]) == 3
    assert not (isolated_home / "state" / "ocitree" / "audit.jsonl").exists()


def test_refused_plan_writes_no_audit_record_and_no_file(tmp_path, isolated_home, capsys):
    path = tmp_path / "registry.json"
    built = write_registry(path)
    before = path.read_bytes()
    assert main(["delete", str(path), f"{REPO}@{built['a'].digest}", "--yes"]) == 3
    assert path.read_bytes() == before
    assert not (isolated_home / "state" / "ocitree" / "audit.jsonl").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.json"]


def test_read_only_store_refuses_to_open_a_session(tmp_path):
    path = tmp_path / "registry.json"
    write_registry(path)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="read-only"):
        SampleStore(path, SourceOptions(read_only=True)).session({REPO})
    assert path.read_bytes() == before


def test_a_failure_mid_plan_on_a_file_store_reports_nothing_deleted(tmp_path, monkeypatch):
    """The sample store writes once at commit(): a run that stops before it changed nothing,
    and the result must say so rather than list steps that never reached the file."""
    from ocitree.core.errors import StoreError
    from ocitree.core.executor import execute_plan
    from ocitree.core.planner import plan_deletion, resolve_targets
    from ocitree.core.stores import sample as sample_module
    from ocitree.sample_data.builder import RegistryBuilder

    b = RegistryBuilder()
    images = [b.image("team/app", arch=f"a{i}") for i in range(4)]
    b.index("team/app", images, ["latest"])
    path = b.write_sample(tmp_path / "registry.json")
    before = path.read_bytes()
    store = sample_module.SampleStore(path)
    registry = store.load()
    plan = plan_deletion(registry, resolve_targets(registry, ["team/app:latest"]))

    original = sample_module._SampleDeletion.delete

    def fail_on_third(self, repository, digest):
        if digest == plan.delete[2].digest:
            raise StoreError("disk went away")
        original(self, repository, digest)

    monkeypatch.setattr(sample_module._SampleDeletion, "delete", fail_on_third)
    result = execute_plan(plan, store)
    assert not result.completed
    assert result.deleted == []
    assert [n.digest for n in result.not_done] == [d.digest for d in plan.delete]
    assert path.read_bytes() == before


def test_a_deletion_starts_only_from_the_state_its_session_read(tmp_path):
    """The executor checks the plan against current(); deleting from any other state (an older
    load, say) would skip that check, so begin() refuses it and nothing is written."""
    path = tmp_path / "registry.json"
    write_registry(path)
    before = path.read_bytes()
    store = SampleStore(path)
    loaded_earlier = store.load()
    with store.session({REPO}) as session:
        session.current()
        with pytest.raises(ValueError, match="current"):
            session.begin(loaded_earlier)
    assert path.read_bytes() == before


def test_loading_a_large_sample_file_says_how_many_mib_are_read(tmp_path):
    """A million artifacts take 15 s: the loading bar shows how far along, not only that it runs."""
    from ocitree.core.stores.base import LoadProgress
    from ocitree.core.stores.sample import SampleStore
    from ocitree.sample_data.generate import Shape, write_sample

    path = tmp_path / "big.json"
    write_sample(Shape.for_total(8000, repositories=2, children=4), path)
    size_mib = -(-path.stat().st_size // 2**20)
    assert size_mib >= 3  # several pieces, so several reports
    seen: list[LoadProgress] = []
    registry = SampleStore(path).load(seen.append)
    assert registry.artifact_count > 7000
    reads = [p for p in seen if p.message.endswith("MiB read")]
    assert [p.total for p in reads] == [size_mib] * len(reads)
    assert [p.done for p in reads] == sorted(p.done for p in reads) and reads[-1].done == size_mib
    assert len(reads) >= 3
    assert seen[-1].done == seen[-1].total  # and the last report says the load is complete
