"""`ocitree ls` output keeps its data: never cut in a pipe, visibly cut on a terminal, and
`--json` exactly as json.dumps(indent=2) writes it whichever encoder ran."""

from __future__ import annotations

import fcntl
import json
import os
import re
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from ocitree.sample_data.builder import RegistryBuilder
from ocitree.tui.json_text import indented_json_bytes

LONG_TAG = "release-" + "x" * 92  # 100 characters


def _long_tag_sample(tmp_path: Path) -> tuple[Path, str]:
    b = RegistryBuilder()
    image = b.image("team/app", arch="arm64", variant="v8", layer_sizes=(1100,))
    b.index("team/app", [image], [LONG_TAG])
    path = tmp_path / "long.json"
    b.write_sample(path)
    return path, image.digest


def _env(columns: int = 80) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["COLUMNS"] = str(columns)  # what a narrow terminal would say; a pipe must ignore it
    return env


def test_ls_in_a_pipe_never_cuts_a_line(tmp_path):
    path, child = _long_tag_sample(tmp_path)
    done = subprocess.run([sys.executable, "-m", "ocitree.tui.cli", "ls", str(path)], capture_output=True, text=True, env=_env())
    assert done.returncode == 0, done.stderr
    line = next(li for li in done.stdout.splitlines() if LONG_TAG in li)
    assert len(line) > 100 and "…" not in line
    assert re.search(r" sha256:[0-9a-f]{12} index \[1 platform\] manifest \d+ B, total \d+\.\d KiB created -$", line)  # every field there
    child_line = next(li for li in done.stdout.splitlines() if child[:19] in li)
    assert "image linux/arm64/v8" in child_line and child_line.endswith(" KiB created -")
    assert not any(" K" == li[-2:] for li in done.stdout.splitlines())  # no size cut to "1.1 K"


def _ls_on_a_terminal(args: list[str], columns: int) -> str:
    pid, fd = pty.fork()
    if pid == 0:  # child: a terminal `columns` wide
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # the progress bar is not the listing
        os.execve(sys.executable, [sys.executable, "-m", "ocitree.tui.cli", "ls", *args],
                  {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")})
    output = b""
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
    os.waitpid(pid, 0)
    return output.decode()


def test_ls_on_a_terminal_cuts_long_lines_with_an_ellipsis(tmp_path):
    path, _ = _long_tag_sample(tmp_path)
    screen = _ls_on_a_terminal([str(path)], 80)
    lines = [li for li in screen.replace("\r\n", "\n").split("\n") if li]
    cut = [li for li in lines if "release-xxx" in li]
    assert len(cut) == 1 and cut[0].endswith("…") and len(cut[0]) == 80
    assert all(len(li) <= 80 for li in lines)
    assert "└── team/app" in lines  # short lines stay whole


def test_ls_text_streams_the_tree_with_its_markers(tmp_path, capsys):
    from ocitree.tui.cli import main

    b = RegistryBuilder()
    shared = b.image("r/a", arch="amd64")
    b.index("r/a", [shared, b.image("r/a", arch="arm64")], ["one"])
    b.index("r/a", [shared], ["two"])
    b.image("r/a")  # untagged, listed by nothing
    path = tmp_path / "s.json"
    b.write_sample(path)
    assert main(["ls", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(str(path)) and lines[0].endswith("1 repositories, 5 artifacts")
    assert lines[1] == "└── r/a"
    assert [li[:12] for li in lines[2:]] == ["    ├── one ", "    │   ├── ", "    │   └── ", "    ├── two ", "    │   └── ", "    └── (unt"]
    assert "shared x2" in lines[3] and "shared x2" in lines[6] and lines[3].endswith(" KiB created -")


def test_ls_text_shows_a_dash_where_a_created_date_is_unknown_and_json_null(tmp_path, capsys):
    from ocitree.tui.cli import main

    b = RegistryBuilder()
    dated = b.image("r/a", ["dated"], seed="dated", created="2026-03-01T12:00:00Z")
    undated = b.image("r/a", ["undated"], seed="undated")
    b.accessory("r/a", dated, "signature")  # an accessory has no build date: no created field at all
    path = b.write_sample(tmp_path / "s.json")
    assert main(["ls", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert next(li for li in lines if " dated " in li).endswith(" created 2026-03-01T12:00:00Z")
    assert next(li for li in lines if " undated " in li).endswith(" created -")
    signature = next(li for li in lines if " signature" in li)
    assert "created" not in signature
    assert main(["ls", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    created = {e["digest"]: e["created"] for r in doc["repositories"] for e in r["artifacts"]}
    assert created[dated.digest] == "2026-03-01T12:00:00Z" and created[undated.digest] is None


HOSTILE = ["plain", "\x1b[2J\x07", "caf\u00e9", "\u202e", "\x7f", "\ud800", "\U0001f600", "\"\\/\t\n"]


@pytest.mark.parametrize("value", HOSTILE + [2**64, -(2**63), 2**63 - 1, True, None])
def test_json_text_is_byte_identical_to_json_dumps(value):
    doc = {"source": "x", "repositories": [{"name": "r", "artifacts": [{"a": value, "annotations": {str(value): value},
                                                                      "children": [], "tags": []}]}]}
    assert indented_json_bytes(doc).decode("ascii") == json.dumps(doc, indent=2)


def test_ls_json_is_byte_identical_on_a_real_listing(tmp_path, capsys):
    from ocitree.core.stores.sample import SampleStore
    from ocitree.sample_data import DEMO_PATH
    from ocitree.tui.cli import main
    from ocitree.tui.ls_output import registry_json

    path = tmp_path / "demo.json"
    path.write_bytes(DEMO_PATH.read_bytes())
    assert main(["ls", str(path), "--json"]) == 0
    assert capsys.readouterr().out == json.dumps(registry_json(SampleStore(path).load()), indent=2) + "\n"


@pytest.mark.parametrize("flags", [[], ["--json"]])
def test_a_listing_reaches_a_file_whole_though_the_process_ends_without_freeing_it(tmp_path, flags):
    """`ls` ends its process without freeing the registry (tui.cli.run): every byte must be out first."""
    from ocitree.core.stores.sample import SampleStore
    from ocitree.sample_data.generate import Shape, write_sample
    from ocitree.tui.ls_output import registry_json, write_registry
    import io

    path = tmp_path / "big.json"
    write_sample(Shape.for_total(40, repositories=2, children=4), path)  # smaller than a write buffer
    registry = SampleStore(path).load()
    if flags:
        expected = indented_json_bytes(registry_json(registry)).decode("ascii") + "\n"
    else:
        buffer = io.StringIO()
        write_registry(registry, buffer)
        expected = buffer.getvalue()
    listing = tmp_path / "listing"
    env = {k: v for k, v in _env().items() if k != "PYTHONUNBUFFERED"}  # buffered, as a user's shell runs it
    with open(listing, "w") as fh:
        done = subprocess.run([sys.executable, "-m", "ocitree", "ls", str(path), *flags], stdout=fh,
                              stderr=subprocess.PIPE, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert listing.read_text() == expected
