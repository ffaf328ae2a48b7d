"""A sample file with a key twice in one JSON object is refused (issue 7 §6): JSON parsers keep
one of the two silently, so the other block vanished from every view and the next delete rewrote
the file without it. Through the command line, on a real file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocitree.tui.cli import main

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64


def entry(digest: str, *tags: str) -> str:
    return json.dumps({"digest": digest, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "size": 100, "tags": list(tags)})


CASES = {
    "repository twice": '{"format": "ocitree-sample/1", "repositories": {'
                        f'"team/app": [{entry(D1, "v1")}], "team/app": [{entry(D2, "v2")}]'
                        '}}',
    "repositories twice": '{"format": "ocitree-sample/1", '
                          f'"repositories": {{"team/app": [{entry(D1, "v1")}]}}, '
                          f'"repositories": {{"team/other": [{entry(D2, "v2")}]}}}}',
    "a field twice in an entry": '{"format": "ocitree-sample/1", "repositories": {"team/app": ['
                                 f'{{"digest": "{D1}", "size": 100, "tags": ["v1"], "tags": ["v2"]}}, {entry(D3, "v3")}'
                                 ']}}',
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_key_twice_in_one_object_is_refused_and_nothing_is_rewritten(tmp_path: Path, capsys, case):
    path = tmp_path / "registry.json"
    path.write_text(CASES[case])
    before = path.read_bytes()
    assert json.loads(before)  # Python's json takes it, silently keeping the second

    assert main(["ls", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ocitree: {path}: ")
    assert "twice" in err and len(err.strip().splitlines()) == 1

    assert main(["delete", str(path), "team/app@" + D3 if "entry" in case else "team/app:v2", "--yes"]) == 2
    assert path.read_bytes() == before


def test_the_same_key_in_different_objects_is_fine(tmp_path: Path, capsys):
    path = tmp_path / "registry.json"
    path.write_text('{"format": "ocitree-sample/1", "repositories": {'
                    f'"team/app": [{entry(D1, "v1")}], "team/other": [{entry(D1, "v1")}]'
                    '}}')
    assert main(["ls", str(path)]) == 0
