"""TextLines: a long Rich Text that renders only the lines on screen.

A plan of 10,000 artifacts is 20,000 lines; a Static lays out every one of them before the
dialog appears (seconds). This wraps each line once per width, cheaply (most lines fit),
and renders a line only when it scrolls into view.

It takes one Text (split here into lines) or the lines themselves, one-line Texts, made where
they are worked out: a prune's plan is tens of thousands of lines, which a worker builds off the
UI thread (splitting one Text of them took longer than building it). `widths` are their cell
lengths, when the caller measured them there too. The lines may be a sequence that makes each
when read (a prune's 1.6 million, plan_view.PlanLines): with widths given, only the lines shown
and those wider than the view (to count their rows) are read.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence

try:  # Text.wrap's own division, the same rows: a private function of rich's, so not relied on
    from rich._wrap import divide_line
except ImportError:  # a rich without it: long lines are wrapped to be counted (slower, the same rows)
    divide_line = None  # type: ignore[assignment]
from rich.segment import Segment
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class TextLines(ScrollView, can_focus=False):
    DEFAULT_CSS = """
    TextLines {
        height: auto;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, text: Text | Sequence[Text], *, widths: Sequence[int] | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self._source: Sequence[Text] = list(text.split("\n", allow_blank=True)) if isinstance(text, Text) else text
        if widths is not None and len(widths) != len(self._source):
            raise ValueError(f"{len(widths)} widths for {len(self._source)} lines")
        self._widths = widths  # measured once, on the first wrap, when not given
        # The rows at this width, without making the lines (a source may make each when read):
        # a line wider than the view is several rows; `_long` lists those lines, `_long_rows` the
        # row each begins at and `_long_ends` the row after its last.
        self._long: array[int] = array("Q")
        self._long_rows: array[int] = array("Q")
        self._long_ends: array[int] = array("Q")
        self._rows = 0
        self._wrapped_for = -1
        self._parts: LRUCache[int, list[Text]] = LRUCache(64)  # long lines wrapped, by line: a screenful
        self._strips: LRUCache[tuple[int, int], Strip] = LRUCache(256)

    @property
    def plain(self) -> str:
        return "\n".join(line.plain for line in self._source)

    def _wrapped(self, line: int, width: int) -> list[Text]:
        parts = self._parts.get(line)
        if parts is None:
            parts = list(self._source[line].wrap(self.app.console, width, overflow="fold"))
            self._parts[line] = parts
        return parts

    def _count_rows(self, line: int, width: int) -> int:
        """The rows `_wrapped` folds the line into, counted where its words break (the count of
        Text.wrap's division, a fifth of its time): at a narrow view a prune's plan has tens of
        thousands of long lines, counted on the UI thread at each width the layout tries."""
        text = self._source[line]
        plain = text.plain
        if divide_line is None or text.no_wrap or "\n" in plain or "\t" in plain:  # not divided, or split or tabs expanded first
            return len(self._wrapped(line, width))
        return len(divide_line(plain, width, fold=True)) + 1

    def _wrap(self, width: int) -> None:
        if width == self._wrapped_for or width <= 0:
            return
        if self._widths is None:
            self._widths = [line.cell_len for line in self._source]
        self._wrapped_for = width
        self._parts.clear()
        self._long, self._long_rows, self._long_ends = array("Q"), array("Q"), array("Q")
        extra = 0  # rows more than lines so far
        for i in [i for i, cells in enumerate(self._widths) if cells > width]:  # most often none or a few
            self._long.append(i)
            self._long_rows.append(i + extra)
            extra += self._count_rows(i, width) - 1
            self._long_ends.append(i + extra + 1)
        self._rows = len(self._widths) + extra
        self._strips.clear()
        self.virtual_size = Size(width, self._rows)

    def _row(self, row: int) -> Text:
        """The row's Text at the width wrapped for: a whole line, or a part of a long one."""
        at = bisect_right(self._long_rows, row) - 1
        if at < 0:  # before the first long line: rows are lines
            return self._source[row]
        if row < self._long_ends[at]:  # a part of the long line
            return self._wrapped(self._long[at], self._wrapped_for)[row - self._long_rows[at]]
        return self._source[self._long[at] + 1 + row - self._long_ends[at]]  # a line after it

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._wrap(width - self.styles.scrollbar_size_vertical)
        return self._rows

    def on_resize(self) -> None:
        self._wrap(self.scrollable_content_region.width)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        self._wrap(width)
        index = y + self.scroll_offset.y
        if index >= self._rows:
            return Strip.blank(width, self.rich_style)
        key = (index, width)
        strip = self._strips.get(key)
        if strip is None:
            segments = list(self._row(index).render(self.app.console))
            segments = [Segment(s.text, self.rich_style + s.style if s.style else self.rich_style) for s in segments if s.text != "\n"]
            strip = Strip(segments).adjust_cell_length(width, self.rich_style)
            self._strips[key] = strip
        return strip
