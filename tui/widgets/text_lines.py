"""TextLines: a long Rich Text that renders only the lines on screen.

A plan of 10,000 artifacts is 20,000 lines; a Static lays out every one of them before the
dialog appears (seconds). This wraps each line once per width, cheaply (most lines fit),
and renders a line only when it scrolls into view.
"""

from __future__ import annotations

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

    def __init__(self, text: Text, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._source = text.split("\n", allow_blank=True)
        self._lines: list[Text] = []
        self._wrapped_for = -1
        self._strips: LRUCache[tuple[int, int], Strip] = LRUCache(256)

    @property
    def plain(self) -> str:
        return "\n".join(line.plain for line in self._source)

    def _wrap(self, width: int) -> None:
        if width == self._wrapped_for or width <= 0:
            return
        console = self.app.console
        lines: list[Text] = []
        for line in self._source:
            if line.cell_len <= width:
                lines.append(line)
            else:
                lines.extend(line.wrap(console, width, overflow="fold"))
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
