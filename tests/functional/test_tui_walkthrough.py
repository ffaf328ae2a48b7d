"""Replays docs/demo.md against the app, so the walkthrough cannot drift from what it does."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.tui_pilot import demo_app, press, screen_text, settle, type_text

DOC = Path(__file__).parents[2] / "docs" / "demo.md"
FENCE = re.compile(r"^```([\w-]+)\n(.*?)^```$", re.M | re.S)


@dataclass
class Check:
    keys: list[str]
    present: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)


@dataclass
class Step:
    title: str
    checks: list[Check]


def parse(text: str) -> list[Step]:
    steps = []
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        title = section.splitlines()[0]
        checks: list[Check] = []
        for kind, body in FENCE.findall(section):
            lines = [line for line in body.splitlines() if line.strip()]
            if kind == "keys":
                checks.append(Check(keys=" ".join(lines).split()))
            elif kind == "screen":
                checks[-1].present += lines
            elif kind == "not-on-screen":
                checks[-1].absent += lines
            else:
                raise AssertionError(f"docs/demo.md, step {title!r}: unknown block {kind!r}")
        steps.append(Step(title, checks))
    return steps


def test_the_walkthrough_document_has_every_case():
    titles = " ".join(s.title for s in parse(DOC.read_text()))
    for case in ("10 children", "shared child cannot be deleted", "9 children go", "nested index", "signed image"):
        assert case in titles
    # Every step but a plain "close the dialog" says what the screen shows afterwards.
    for step in parse(DOC.read_text()):
        for check in step.checks:
            assert check.present or check.keys == ["escape"], f"step {step.title!r}: keys {check.keys} without a screen block"


async def test_the_walkthrough_replays(tmp_path):
    app, _ = demo_app(tmp_path)
    steps = parse(DOC.read_text())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for step in steps:
            for check in step.checks:
                for key in check.keys:
                    if key.startswith("type:"):
                        await type_text(pilot, key.removeprefix("type:"))
                    else:
                        await press(pilot, key)
                text = screen_text(app)
                for line in check.present:
                    assert line in text, f"step {step.title!r}, after {' '.join(check.keys)}: {line!r} is not on screen:\n{text}"
                for line in check.absent:
                    assert line not in text, f"step {step.title!r}, after {' '.join(check.keys)}: {line!r} is on screen:\n{text}"
