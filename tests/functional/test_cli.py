"""The command line as a user meets it: output, prompts, config, the demo copy, escaping."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from ocitree.sample_data import DEMO_PATH
from ocitree.sample_data.builder import RegistryBuilder
from ocitree.tui.cli import main

OCITREE = [sys.executable, "-m", "ocitree.tui.cli"]


def _demo(tmp_path: Path) -> Path:
    path = tmp_path / "demo.json"
    path.write_bytes(DEMO_PATH.read_bytes())
    return path


def test_ls_shows_shared_untagged_and_missing_markers(tmp_path, capsys):
    assert main(["ls", str(_demo(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "shared x2" in out  # the child of v2.4 that v2.4-slim also lists
    assert "(untagged)" in out
    assert "MISSING" in out  # legacy/webapp lists an s390x child it does not hold
    assert "platform/base-images" in out and "v2.4-slim" in out


def test_ls_json_nests_children_and_accessories(tmp_path, capsys):
    assert main(["ls", str(_demo(tmp_path)), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    repos = {r["name"]: r for r in doc["repositories"]}
    api = {a["tags"][0] if a["tags"] else a["digest"]: a for a in repos["payments/api"]["artifacts"]}
    kinds = sorted(x["kind"] for x in api["1.8.0"]["accessories"])
    assert kinds == ["attestation", "sbom", "signature"]
    assert [c["platform"] for c in api["1.8.0"]["children"]] == ["linux/amd64", "linux/arm64/v8"]
    harbor = repos["harbor/docs-example"]["artifacts"][0]
    assert harbor["annotations"] == {"com.example.key1": "value1", "com.example.key2": "value2"}


def test_plan_text_names_what_stays_and_why(tmp_path, capsys):
    assert main(["plan", str(_demo(tmp_path)), "platform/base-images:v2.4"]) == 0
    out = capsys.readouterr().out
    assert "DELETE 10 artifacts" in out
    assert "kept: shared with platform/base-images:v2.4-slim" in out
    assert "Summary: deletes 10, keeps 1 shared" in out


def test_refused_plan_exits_3_and_names_the_parent(tmp_path, capsys):
    path = _demo(tmp_path)
    registry_json = json.loads(path.read_text())
    child = registry_json["repositories"]["platform/base-images"][1]["digest"]
    before = path.read_bytes()
    assert main(["delete", str(path), f"platform/base-images@{child}", "--yes"]) == 3
    out = capsys.readouterr().out
    assert "REFUSED" in out and "referenced by 1 index: platform/base-images:v2.4" in out
    assert path.read_bytes() == before


def test_config_file_protection_refuses(tmp_path, capsys, isolated_home):
    config = isolated_home / "config" / "ocitree" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('protect = ["v2.*"]\n')
    assert main(["plan", str(_demo(tmp_path)), "platform/base-images:v2.4", "--json"]) == 3
    plan = json.loads(capsys.readouterr().out)
    assert plan["allowed"] is False
    assert plan["refusals"][0] == {**plan["refusals"][0], "reason": "protected_tag", "tag": "v2.4", "rule": "v2.*"}


def test_broken_config_is_bad_input(tmp_path, capsys, isolated_home):
    config = isolated_home / "config" / "ocitree" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("protect = [\n")
    assert main(["plan", str(_demo(tmp_path)), "platform/base-images:v2.4"]) == 2
    err = capsys.readouterr().err
    assert str(config) in err and len(err.strip().splitlines()) == 1


def test_read_only_refuses_to_delete(tmp_path, capsys):
    path = _demo(tmp_path)
    before = path.read_bytes()
    assert main(["delete", str(path), "platform/base-images:v2.4", "--yes", "--read-only"]) == 2
    assert "read-only" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_delete_without_terminal_or_yes_deletes_nothing(tmp_path):
    path = _demo(tmp_path)
    before = path.read_bytes()
    proc = subprocess.run([*OCITREE, "delete", str(path), "platform/base-images:v2.4"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "pass --yes" in proc.stderr
    assert path.read_bytes() == before


def _run_in_pty(args: list[str], answer: bytes) -> tuple[int, str]:
    """Run ocitree on a pseudo-terminal, answer its question, return (exit code, screen text)."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execv(sys.executable, [sys.executable, "-m", "ocitree.tui.cli", *args])
    output = b""
    answered = False
    while True:
        ready, _, _ = select.select([fd], [], [], 20)
        if not ready:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if not answered and b"[y/N]" in output:
            os.write(fd, answer)
            answered = True
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


@pytest.mark.parametrize("answer, deleted", [(b"n\n", False), (b"y\n", True)])
def test_delete_asks_on_the_terminal(tmp_path, answer, deleted):
    path = _demo(tmp_path)
    before = path.read_bytes()
    code, screen = _run_in_pty(["delete", str(path), "platform/base-images:v2.4"], answer)
    assert "Delete 10 artifacts? [y/N]" in screen
    assert code == 0
    if deleted:
        assert "Done: deleted 10 artifacts" in screen
        doc = json.loads(path.read_text())
        tags = [t for a in doc["repositories"]["platform/base-images"] for t in a.get("tags", [])]
        assert "v2.4" not in tags and "v2.4-slim" in tags
    else:
        assert "Cancelled; nothing was deleted" in screen
        assert path.read_bytes() == before


def test_audit_log_records_the_deletion(tmp_path, capsys, isolated_home):
    path = _demo(tmp_path)
    assert main(["delete", str(path), "platform/base-images:v2.4", "--yes"]) == 0
    lines = (isolated_home / "state" / "ocitree" / "audit.jsonl").read_text().splitlines()
    record = json.loads(lines[-1])
    assert record["targets"] == ["platform/base-images:v2.4"]
    assert record["result"] == "completed" and len(record["deleted"]) == 10
    assert record["source"] == str(path) and record["user"]


def test_demo_copy_and_reset_never_touch_the_bundled_file(capsys, isolated_home):
    bundled = DEMO_PATH.read_bytes()
    assert main(["demo"]) == 0
    copy = isolated_home / "data" / "ocitree" / "demo.json"
    assert copy.read_bytes() == bundled
    assert main(["delete", str(copy), "platform/base-images:v2.4", "--yes"]) == 0
    assert copy.read_bytes() != bundled
    assert main(["demo", "--reset"]) == 0
    assert copy.read_bytes() == bundled
    assert DEMO_PATH.read_bytes() == bundled


def test_registry_strings_are_printed_literally(tmp_path, capsys):
    b = RegistryBuilder()
    m = b.image("evil/repo", ["ok"])
    doc = b.to_sample()
    doc["repositories"]["evil/repo"][0]["annotations"] = {"note": "[bold red]x[/] \x1b[2J\x07"}
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(doc))
    assert main(["ls", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["repositories"][0]["artifacts"][0]["annotations"]["note"].startswith("[bold red]")
    assert main(["ls", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert m.digest[:19] in out



def test_platforms_are_printed_literally_in_plans_and_missing_children(tmp_path, capsys):
    b = RegistryBuilder()
    b.index("evil/repo", [b.image("evil/repo", arch="[bold red]arch[/]", variant="v\x1b[31m")], ["latest"])
    doc = b.to_sample()
    index = next(e for e in doc["repositories"]["evil/repo"] if e.get("manifests"))
    index["manifests"].append({"digest": "sha256:" + "1" * 64, "size": 5, "platform": {"os": "linux", "architecture": "gone\x1b[5m"}})
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(doc))
    assert main(["plan", str(path), "evil/repo:latest"]) == 0
    out = capsys.readouterr().out
    assert "linux/[bold red]arch[/]/v\\x1b[31m" in out and "\x1b" not in out
    assert main(["ls", str(path)]) == 0
    out = capsys.readouterr().out
    assert "linux/gone\\x1b[5m MISSING" in out and "\x1b" not in out

def test_unknown_subcommand_like_source_is_one_line(capsys):
    assert main(["frob"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "frob" in err


def test_password_is_never_taken_on_the_command_line(tmp_path, capsys):
    assert main(["ls", str(_demo(tmp_path)), "--username", "alice"]) == 2
    assert "--password-stdin" in capsys.readouterr().err


@pytest.mark.parametrize("argv, app_args", [
    (["reg.json", "--port=9000", "--read-only"], ["reg.json", "--read-only"]),
    (["reg.json", "--port", "8", "--concurrency", "8"], ["reg.json", "--concurrency", "8"]),
    (["--host", "0.0.0.0", "--protect", "v*", "reg.json"], ["reg.json", "--protect", "v*"]),
])
def test_web_passes_the_app_only_its_own_options(argv, app_args, monkeypatch):
    import ocitree.tui.web
    from ocitree import tui

    served = {}
    monkeypatch.setattr(tui.web, "serve", lambda args, host, port, no_auth=False: served.update(args=args, host=host, port=port))
    assert main(["web", *argv]) == 0
    assert served["args"] == app_args


def test_a_failed_write_is_reported_without_an_empty_artifact(tmp_path, capsys, monkeypatch):
    b = RegistryBuilder()
    b.image("team/app", ["v1"])
    path = b.write_sample(tmp_path / "registry.json")

    replace = os.replace

    def refuse(src, dst):
        if str(dst) != str(path):  # ocitree's own state files are written as usual
            return replace(src, dst)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    assert main(["delete", str(path), "team/app:v1", "--yes"]) == 1
    out = capsys.readouterr().out
    assert "INCOMPLETE" in out and "not deleted  team/app@sha256:" in out
    failed = next(line for line in out.splitlines() if line.lstrip().startswith("failed"))
    assert "No space left on device" in failed and "@" not in failed


def test_plan_takes_the_short_digest_the_screens_show(tmp_path, capsys):
    path = _demo(tmp_path)
    doc = json.loads(path.read_text())
    slim = next(a for a in doc["repositories"]["platform/base-images"] if "v2.4-slim" in a.get("tags", []))
    assert main(["plan", str(path), f"platform/base-images@{slim['digest'][:19]}", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["targets"][0]["digest"] == slim["digest"]


def test_an_ambiguous_digest_prefix_lists_the_candidates(tmp_path, capsys):
    a, b = "sha256:" + "ab12cd34" + "0" * 56, "sha256:" + "ab12cd34" + "1" * 56
    doc = {"repositories": {"team/app": [{"digest": a, "size": 10, "tags": ["one"]}, {"digest": b, "size": 10}]}}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    assert main(["plan", str(path), "team/app@sha256:ab12cd34"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ambiguous" in err and a in err and b in err
    assert main(["plan", str(path), "team/app@sha256:ab12cd340", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["targets"][0]["digest"] == a


def test_version_and_unknown_commands(tmp_path, capsys, monkeypatch):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"ocitree {version('ocitree')}"
    monkeypatch.chdir(tmp_path)
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unknown command 'frobnicate'" in err and "ls, plan, delete, prune, untag, history, undo, demo, web" in err
    assert "no such file" not in err


def test_ls_counts_platforms_and_labels_both_sizes(tmp_path, capsys):
    from ocitree.core.sizes import total_size
    from ocitree.core.stores.sample import SampleStore
    from ocitree.tui.plan_text import human_bytes

    path = _demo(tmp_path)
    assert main(["ls", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    line = lambda start: next(l for l in lines if start in l)  # noqa: E731
    assert "[1 platform]" in line("2026.10 ") and "[2 entries]" in line("2026.11 ")
    repo = SampleStore(path).load().repositories["harbor/docs-example"]
    index = repo.tags["multiarch"]
    children = [repo.artifacts[c.digest] for c in repo.artifacts[index].children]
    blobs = {b.digest: b.size for c in children for b in c.blobs}
    expected = repo.artifacts[index].size + sum(c.size for c in children) + sum(blobs.values())
    assert total_size(repo, index) == expected
    assert f"manifest 682 B, total {human_bytes(expected)}" in line("multiarch ")
    assert main(["ls", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    top = next(r for r in doc["repositories"] if r["name"] == "harbor/docs-example")["artifacts"][0]
    assert (top["size"], top["total_size"]) == (682, expected)
