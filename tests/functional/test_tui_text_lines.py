"""TextLines over lines made when read (a prune's plan, tui/screens/plan_view.PlanLines): its rows at
any width are those of wrapping every line as it was done eagerly, while it reads only the lines
it shows and those wider than the view."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rich.console import Console
from rich.text import Text
from textual.app import App, ComposeResult

from ocitree.core.prune import PruneRule, plan_prune, select_by_rule
from ocitree.sample_data.generate import Shape, generate_registry
from ocitree.tui.screens.plan_view import plan_body
from ocitree.tui.widgets import text_lines
from ocitree.tui.widgets.text_lines import TextLines

NOW = 1_780_000_000.0


class CountedLines(Sequence[Text]):
    """One-line Texts made when read, counting the reads."""

    def __init__(self, lines: Sequence[Text]) -> None:
        self.lines = lines
        self.read: list[int] = []

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index):  # a line; a slice (every line it spans made) is a failure here
        assert isinstance(index, int), index
        self.read.append(index)
        return self.lines[index].copy()


def eager_rows(lines: Sequence[Text], width: int, console: Console) -> list[Text]:
    """Each line wider than `width` folded into rows, as TextLines did with every line made."""
    rows: list[Text] = []
    for line in lines:
        rows.extend(line.wrap(console, width, overflow="fold") if line.cell_len > width else [line])
    return rows


def spans(line: Text) -> tuple[str, list[tuple[int, int, str]]]:
    return line.plain, [(s.start, s.end, str(s.style)) for s in line.spans]


def some_lines() -> list[Text]:
    lines = []
    for i in range(300):
        line = Text(f"  - image linux/amd64 build-{i}")
        line.append(f" {i:012x}", "dim")
        if i in (0, 7, 8, 150, 299):  # long: words, then one word too long for any row
            line.append(" shared with " + ", ".join(f"repo-{j}:release-{j}" for j in range(i % 5 + 3)), "bold")
            line.append(" " + "x" * (60 + i % 7))
        if i == 150:  # a tab is expanded before the division
            line.append("\tafter a tab", "italic")
        if i == 8:  # not divided: one row, cut
            line.no_wrap = True
        lines.append(line)
    return lines


class Lines(App[None]):
    def __init__(self, lines: Sequence[Text], widths: Sequence[int]) -> None:
        super().__init__()
        self.lines, self.widths = lines, widths

    def compose(self) -> ComposeResult:
        yield TextLines(self.lines, widths=self.widths)


async def check_rows(lines: Sequence[Text], widths: Sequence[int], made: list[Text], sizes: Sequence[int]) -> None:
    async with Lines(lines, widths).run_test(size=(100, 30)) as pilot:
        view = pilot.app.query_one(TextLines)
        for width in sizes:
            view._wrap(width)
            expected = eager_rows(made, width, pilot.app.console)
            assert view.virtual_size.height == len(expected)
            assert [spans(view._row(row)) for row in range(len(expected))] == [spans(row) for row in expected], width
        assert view.plain == "\n".join(line.plain for line in made)


@pytest.mark.parametrize("rich_divides", [True, False], ids=["counted by rich's division", "wrapped to be counted"])
async def test_rows_of_lines_made_when_read_are_the_eager_wrap_at_every_width(rich_divides, monkeypatch):
    if not rich_divides:  # a rich without its private divide_line: the same rows, counted the slow way
        monkeypatch.setattr(text_lines, "divide_line", None)
    made = some_lines()
    await check_rows(CountedLines(made), [line.cell_len for line in made], made, [200, 120, 60, 41, 40, 12, 1])


async def test_only_the_lines_shown_and_those_too_wide_are_read():
    made = some_lines()
    lines = CountedLines(made)
    async with Lines(lines, [line.cell_len for line in made]).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        view = pilot.app.query_one(TextLines)
        width, height = view.scrollable_content_region.size
        rows = eager_rows(made, width, pilot.app.console)
        long = {i for i, line in enumerate(made) if line.cell_len > width}
        assert long and set(lines.read) <= long | set(range(height))
        lines.read.clear()
        view.scroll_end(animate=False)
        await pilot.pause()
        assert [view.render_line(y).text for y in range(height)] == [row.plain.ljust(width) for row in rows[-height:]]
        assert lines.read and set(lines.read) <= set(range(len(made) - height, len(made)))


async def test_a_plan_body_wraps_as_its_lines_made_at_once_would():
    registry = generate_registry(Shape(repositories=2, indexes=20, children=4, share=0.4, nesting=0.2,
                                       tagged_children=0.2, accessories=0.5, missing=0.1, seed=3))
    for repo in registry.repositories.values():
        for i, artifact in enumerate(repo.artifacts.values()):
            if not artifact.is_index:
                artifact.created = NOW - 400 * 86400 + i * 60
    plan = plan_prune(registry, select_by_rule(registry, PruneRule(keep_last=2, untagged=True), NOW), ["release-*"])
    body = plan_body(plan, registry)
    await check_rows(body.lines, body.widths, list(body.lines), [120, 70, 50, 30])
