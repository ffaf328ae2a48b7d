"""Everything a user can get wrong: one clear line on stderr, exit code 2, and nothing lost
(the file is byte-for-byte unchanged and nothing new appears next to it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ocitree.sample_data.builder import RegistryBuilder
from ocitree.tui.cli import main

REPO = "team/app"
X = "sha256:" + "1" * 64
Y = "sha256:" + "2" * 64


def good_sample() -> dict:
    b = RegistryBuilder()
    child = b.image(REPO, ["amd64"], arch="amd64")
    b.index(REPO, [child], ["latest"])
    return b.to_sample()


def _set(path: list, value) -> Callable[[dict], None]:
    def edit(doc: dict) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _rename_repository(doc: dict) -> None:
    doc["repositories"]["Team/App"] = doc["repositories"].pop(REPO)


def _duplicate_first(doc: dict) -> None:
    doc["repositories"][REPO].append(dict(doc["repositories"][REPO][0]))


def _uppercase_child_digest(doc: dict) -> None:
    child = doc["repositories"][REPO][1]["manifests"][0]
    child["digest"] = "sha256:" + child["digest"].split(":")[1].upper()


# name -> (file content as bytes, or an edit of the good sample; what the message must name)
BAD_FILES: dict[str, tuple[bytes | Callable[[dict], None], str]] = {
    "truncated JSON": (b'{"format": "ocitree-sample/1", "repositories": {', "not valid JSON at line 1"),
    "empty file": (b"", "not valid JSON"),
    "not text": (b"\xff\x00\xfe garbage", "not"),
    "top level is an array": (b"[1, 2]", "top level"),
    "size is a string": (_set(["repositories", REPO, 0, "size"], "big"), "repositories.team/app[0].size"),
    "negative size": (_set(["repositories", REPO, 0, "size"], -1), "repositories.team/app[0].size"),
    "tags is a string": (_set(["repositories", REPO, 0, "tags"], "amd64"), "repositories.team/app[0].tags"),
    "repositories is a list": (_set(["repositories"], []), "repositories"),
    "unknown format": (_set(["format"], "other/2"), "unknown format"),
    "unknown field": (_set(["repositories", REPO, 0, "colour"], "red"), "colour"),
    "invalid artifact digest": (_set(["repositories", REPO, 0, "digest"], "sha256:xyz"), "invalid digest 'sha256:xyz'"),
    "uppercase child digest": (_uppercase_child_digest, "repositories.team/app[1].manifests[0].digest"),
    "invalid subject digest": (_set(["repositories", REPO, 0, "subject"], "nope"), "invalid digest 'nope'"),
    "invalid tag": (_set(["repositories", REPO, 0, "tags"], ["-x"]), "invalid tag '-x'"),
    "invalid repository name": (_rename_repository, "invalid repository 'Team/App'"),
    "tag on two artifacts": (_set(["repositories", REPO, 0, "tags"], ["latest"]), "tag 'latest' is on two artifacts"),
    "digest listed twice": (_duplicate_first, "is listed twice"),
    "reference cycle": (
        lambda doc: doc.update(repositories={"loop/app": [
            {"digest": X, "tags": ["a"], "manifests": [{"digest": Y}]},
            {"digest": Y, "manifests": [{"digest": X}]},
        ]}),
        "reference cycle sha256:111111111111 -> sha256:222222222222 -> sha256:111111111111",
    ),
    "index listing itself": (
        lambda doc: doc.update(repositories={"loop/app": [{"digest": X, "tags": ["a"], "manifests": [{"digest": X}]}]}),
        "reference cycle",
    ),
}


def write_bad(tmp_path: Path, content) -> Path:
    path = tmp_path / "registry.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        doc = good_sample()
        content(doc)
        path.write_text(json.dumps(doc, indent=2))
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def assert_one_line_error(capsys, code: int, *must_name: str) -> str:
    captured = capsys.readouterr()
    assert code == 2, captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("ocitree: ") and "Traceback" not in captured.err
    for text in must_name:
        assert text in lines[0]
    return lines[0]


COMMANDS = {
    "ls": lambda path: ["ls", str(path)],
    "plan": lambda path: ["plan", str(path), f"{REPO}:latest", "--json"],
    "delete": lambda path: ["delete", str(path), f"{REPO}:latest", "--yes"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", BAD_FILES)
def test_malformed_sample_file(case, command, tmp_path, capsys):
    content, message = BAD_FILES[case]
    path = write_bad(tmp_path, content)
    before = snapshot(tmp_path)
    code = main(COMMANDS[command](path))
    assert_one_line_error(capsys, code, str(path), message)
    assert capsys.readouterr().out == ""
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "ref, message",
    [
        ("nope/app:latest", "no repository 'nope/app'"),
        (f"{REPO}:nope", "no tag 'nope' in repository team/app (tags: amd64, latest)"),
        (f"{REPO}@sha256:{'a' * 64}", f"no manifest sha256:{'a' * 64} in repository team/app"),
        ("app", "names no tag or digest: write REPOSITORY:TAG or REPOSITORY@sha256:<hex>"),
        ("Team/App:v1", "invalid repository in reference 'Team/App'"),
        (f"{REPO}@sha256:123", "digest 'sha256:123' in reference 'team/app@sha256:123' is too short: give at least 8 hex digits"),
        (f"{REPO}@latest", "invalid digest in reference 'latest'"),
        (f"{REPO}:-bad", "invalid tag in reference '-bad'"),
        (f"{REPO}:", "invalid tag in reference ''"),
    ],
)
@pytest.mark.parametrize("command", ["plan", "delete"])
def test_bad_or_unknown_reference(command, ref, message, tmp_path, capsys):
    path = write_bad(tmp_path, lambda doc: None)
    before = snapshot(tmp_path)
    args = [command, str(path), f"{REPO}:amd64", ref] + (["--yes"] if command == "delete" else [])
    assert_one_line_error(capsys, main(args), message)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("pattern, message", [
    (" v1", "invalid protection pattern ' v1'"),
    ("team/app:", "both sides of ':' must be non-empty"),
    (":v1", "both sides of ':' must be non-empty"),
    ("", "invalid protection pattern ''"),
])
@pytest.mark.parametrize("command", ["plan", "delete"])
def test_bad_protection_pattern(command, pattern, message, tmp_path, capsys):
    path = write_bad(tmp_path, lambda doc: None)
    before = snapshot(tmp_path)
    args = [command, str(path), f"{REPO}:latest", "--protect", pattern] + (["--yes"] if command == "delete" else [])
    assert_one_line_error(capsys, main(args), message)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ["registry.json", "typo", "sub/dir/registry.json"])
@pytest.mark.parametrize("command", ["ls", "plan", "delete"])
def test_missing_file_is_bad_input_and_is_not_created(command, name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative names, as typed: `registry.json` must not be taken for a host name
    args = {"ls": ["ls", name], "plan": ["plan", name, f"{REPO}:latest"], "delete": ["delete", name, f"{REPO}:latest", "--yes"]}
    assert_one_line_error(capsys, main(args[command]), name, "no such file")
    assert list(tmp_path.iterdir()) == []


def test_usage_errors_are_one_line(tmp_path, capsys):
    path = write_bad(tmp_path, lambda doc: None)
    assert_one_line_error(capsys, main(["plan", str(path)]), "REF")
    assert_one_line_error(capsys, main(["plan", str(path), f"{REPO}:latest", "--bogus"]), "--bogus")


@pytest.mark.parametrize("value", ["0", "-1", "65"])
def test_concurrency_out_of_range_is_refused(value, tmp_path, capsys):
    path = write_bad(tmp_path, lambda doc: None)
    assert_one_line_error(capsys, main(["ls", str(path), "--concurrency", value]), "--concurrency", "1 to 64")


@pytest.mark.parametrize("line, message", [
    ("concurrency = true", "'concurrency' must be a whole number"),
    ('protect = [" v1"]', "invalid protection pattern ' v1'"),
])
def test_bad_config_file_is_named(line, message, tmp_path, capsys, monkeypatch):
    path = write_bad(tmp_path, lambda doc: None)
    config = tmp_path / "config.toml"
    config.write_text(line + "\n")
    monkeypatch.setenv("OCITREE_CONFIG", str(config))
    assert_one_line_error(capsys, main(["ls", str(path)]), str(config), message)
