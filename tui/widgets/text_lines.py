"""TextLines: a long Rich Text that renders only the lines on screen.

A plan of 10,000 artifacts is 20,000 lines; a Static lays out every one of them before the
dialog appears (seconds). This wraps each line once per width, cheaply (most lines fit),
and renders a line only when it scrolls into view.

It takes one Text (split here into lines) or the lines themselves, one-line Texts, made where
they are worked out: a prune's plan is tens of thousands of lines, which a worker builds off the
UI thread (splitting one Text of them took longer than building it). `widths` are their cell
lengths, when the caller measured them there too.
"""

from __future__ import annotations

from collections.abc import Sequence

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
        self._lines: Sequence[Text] = []
        self._wrapped_for = -1
        self._strips: LRUCache[tuple[int, int], Strip] = LRUCache(256)

    @property
    def plain(self) -> str:
        return "\n".join(line.plain for line in self._source)

    def _wrap(self, width: int) -> None:
        if width == self._wrapped_for or width <= 0:
            return
        console = self.app.console
        source = self._source
        if self._widths is None:
            self._widths = [line.cell_len for line in source]
        widths = self._widths
        long = [i for i, cells in enumerate(widths) if cells > width]
        if not long:  # the usual case: every line fits, the rows are the lines
            lines: Sequence[Text] = source
        else:
            wrapped: list[Text] = []
            start = 0
            for i in long:
                wrapped.extend(source[start:i])
                wrapped.extend(source[i].wrap(console, width, overflow="fold"))
                start = i + 1
            wrapped.extend(source[start:])
            lines = wrapped
        self._lines = lines
        self._wrapped_for = width
        self._strips.clear()
        self.virtual_size = Size(width, len(lines))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._wrap(width - self.styles.scrollbar_size_vertical)
        return len(self._lines)

    def on_resize(self) -> None:
        self._wrap(self.scrollable_content_region.width)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        self._wrap(width)
        index = y + self.scroll_offset.y
        if index >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        key = (index, width)
        strip = self._strips.get(key)
        if strip is None:
            segments = list(self._lines[index].render(self.app.console))
            segments = [Segment(s.text, self.rich_style + s.style if s.style else self.rich_style) for s in segments if s.text != "\n"]
            strip = Strip(segments).adjust_cell_length(width, self.rich_style)
            self._strips[key] = strip
        return strip
