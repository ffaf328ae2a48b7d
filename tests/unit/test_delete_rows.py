"""The plan's numbered delete list prints what the three-column Rich Table it replaced printed."""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console, Group
from rich.text import Text

from ocitree.tui.plan_text import DeleteRows

WORDS = ["index", "image", "linux/arm64/v8;", "untagged;", "target", "child", "of", "payments/api:v2.4",
         "(sha256:0123456789ab)", "tags", "build-1,", "é", "a" * 30, "x", "\\x1b[31m"]


def _printed(renderable, width: int) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(Group(Text("head"), renderable))
    return console.file.getvalue()


def _rows(rnd: random.Random) -> DeleteRows:
    rows = DeleteRows()
    for i in range(1, rnd.choice([1, 3, 12, 120]) + 1):
        text = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 14)))
        if rnd.random() < 0.1:
            text = " lead" + text + "  double  space "
        rows.add(f"{i * rnd.choice([1, 7, 1001])}.", rnd.choice(["sha256:0123456789ab", "sha512:abcdefabcdef", "x:y"]), text)
    return rows


@pytest.mark.parametrize("seed", range(40))
def test_rows_print_as_the_table_did(seed: int) -> None:
    rows = _rows(random.Random(seed))
    for width in (12, 35, 50, 80, 200):  # too narrow for the columns, wrapped, and on one line
        assert _printed(rows, width) == _printed(rows._as_table(), width)


def test_long_entries_wrap_under_their_own_column() -> None:
    rows = DeleteRows()
    rows.add("1.", "sha256:0123456789ab", "image linux/amd64; untagged; child of payments/api:v2.4 (sha256:0123456789ab)")
    lines = _printed(rows, 50).splitlines()[1:]
    assert lines[0].startswith("  1.  sha256:0123456789ab  image linux/amd64;")
    assert all(line.startswith(" " * 27) for line in lines[1:]) and len(lines) > 1
