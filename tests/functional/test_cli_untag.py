"""`ocitree untag` as a user meets it: the question, --yes, --json, refusals and their exit codes."""

from __future__ import annotations

import json
import subprocess

import pytest

from ocitree.sample_data.builder import RegistryBuilder
from ocitree.tui.cli import main
from tests.functional.test_cli import OCITREE, _run_in_pty


def _sample(tmp_path):
    builder = RegistryBuilder()
    images = [builder.image("team/app", arch=a) for a in ("amd64", "arm64")]
    index = builder.index("team/app", images, ["latest", "v1"])
    single = builder.image("team/app", ["v2"], seed="single")
    return builder.write_sample(tmp_path / "registry.json"), index, single


def _tags(path, digest: str) -> list[str]:
    doc = json.loads(path.read_text())
    return next(e.get("tags", []) for e in doc["repositories"]["team/app"] if e["digest"] == digest)


def test_untag_yes_removes_the_tag_keeps_the_manifest_and_audits(tmp_path, capsys, isolated_home):
    path, index, _ = _sample(tmp_path)
    assert main(["untag", str(path), "team/app:v1", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Untag team/app:v1" in out and "stays, tagged latest" in out and "Untagged team/app:v1" in out
    assert _tags(path, index.digest) == ["latest"]
    record = json.loads((isolated_home / "state" / "ocitree" / "audit.jsonl").read_text().splitlines()[-1])
    assert record["action"] == "untag" and record["targets"] == ["team/app:v1"]


def test_untag_of_the_last_tag_says_it_becomes_a_prune_candidate(tmp_path, capsys):
    path, _, single = _sample(tmp_path)
    assert main(["untag", str(path), "team/app:v2", "--yes", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["completed"] and doc["becomes_untagged"] and doc["untagged"] == ["team/app:v2"]
    assert doc["digest"] == single.digest and _tags(path, single.digest) == []


@pytest.mark.parametrize("answer, untagged", [(b"n\n", False), (b"y\n", True)])
def test_untag_asks_on_the_terminal(tmp_path, answer, untagged):
    path, _, single = _sample(tmp_path)
    code, screen = _run_in_pty(["untag", str(path), "team/app:v2"], answer)
    assert "Remove the tag team/app:v2? [y/N]" in screen
    assert "prune --untagged" in screen
    assert code == 0
    assert _tags(path, single.digest) == ([] if untagged else ["v2"])
    assert ("Cancelled; nothing was untagged" in screen) != untagged


def test_untag_without_terminal_or_yes_changes_nothing(tmp_path):
    path, _, _ = _sample(tmp_path)
    before = path.read_bytes()
    proc = subprocess.run([*OCITREE, "untag", str(path), "team/app:v1"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "pass --yes to untag" in proc.stderr
    assert path.read_bytes() == before


def test_protected_tag_exits_3_with_one_line(tmp_path, capsys):
    path, _, _ = _sample(tmp_path)
    before = path.read_bytes()
    assert main(["untag", str(path), "team/app:v1", "--protect", "v*", "--yes"]) == 3
    err = capsys.readouterr().err
    assert "is protected (rule 'v*')" in err and err.count("\n") == 1
    assert path.read_bytes() == before


@pytest.mark.parametrize("ref, says", [("team/app:v9", "no tag 'v9'"), ("team/app@sha256:" + "a" * 64, "not a digest"),
                                       ("team/app", "names no tag")])
def test_bad_reference_exits_2(tmp_path, capsys, ref, says):
    path, _, _ = _sample(tmp_path)
    assert main(["untag", str(path), ref, "--yes"]) == 2
    assert says in capsys.readouterr().err


def test_read_only_exits_2(tmp_path, capsys):
    path, _, _ = _sample(tmp_path)
    assert main(["untag", str(path), "team/app:v1", "--yes", "--read-only"]) == 2
    assert "nothing to untag" in capsys.readouterr().err
