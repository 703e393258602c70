"""A table of a run's episodes that stays fast at any size: it draws only the rows on screen.

Textual's ``DataTable`` measures every cell of every row it is given (opening 10,000 episodes took about two
seconds here); this one knows its column widths up front and renders a row when it scrolls into view, so
adding rows costs a list append and opening a run of any length is one screen's work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

__all__ = ["COLUMNS", "EpisodeTable"]

#: (header, width) of each column
COLUMNS = (("#", 5), ("task", 22), ("won", 4), ("reward", 6), ("steps", 5), ("s", 5), ("stopped / error", 30))
_WIDTH = sum(w for _, w in COLUMNS) + len(COLUMNS) - 1


def _cells(index: int, record: dict[str, Any]) -> list[str]:
    why = record.get("error") or record.get("stop_reason") or ""
    return [str(index + 1), str(record.get("task_id", "?")), "yes" if record.get("won") else "no",
            f"{record.get('reward', 0) or 0:g}", str(record.get("steps", 0)), f"{record.get('seconds', 0) or 0:.0f}",
            str(why)]


class EpisodeTable(ScrollView, can_focus=True):
    """Rows are episode records (dicts as in ``episodes.jsonl``); a header line, then one line per episode."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("up", "move(-1)", "Up", show=False, id="episodes.up"),
        Binding("down", "move(1)", "Down", show=False, id="episodes.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="episodes.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="episodes.page_down"),
        Binding("home", "jump(0)", "First", show=False, id="episodes.first"),
        Binding("end", "jump(-1)", "Last", show=False, id="episodes.last"),
    ]
    DEFAULT_CSS = """
    EpisodeTable { background: $surface; }
    """

    cursor: reactive[int] = reactive(0, always_update=True)

    @dataclass
    class Highlighted(Message):
        table: EpisodeTable
        index: int

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.records: list[dict[str, Any]] = []

    @property
    def row_count(self) -> int:
        return len(self.records)

    def add(self, records: list[dict[str, Any]]) -> None:
        had = len(self.records)
        self.records.extend(records)
        self.virtual_size = Size(_WIDTH, len(self.records) + 1)
        if had == 0 and self.records:
            self.cursor = 0
        self.refresh()

    def clear(self) -> None:
        self.records = []
        self.virtual_size = Size(_WIDTH, 1)
        self.refresh()

    def row_text(self, index: int) -> list[str]:
        """The cells of row ``index`` as drawn (before clipping to the column widths)."""
        return _cells(index, self.records[index])

    # --- drawing ---------------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if y == 0:
            style = Style(bold=True, color="bright_white", bgcolor="grey23")
            cells = [Segment(name.ljust(w)[:w] + (" " if i < len(COLUMNS) - 1 else ""), style)
                     for i, (name, w) in enumerate(COLUMNS)]
            return Strip(cells).extend_cell_length(_WIDTH, style).crop(scroll_x, scroll_x + width)
        index = scroll_y + y - 1
        if index >= len(self.records):
            return Strip.blank(width, self.rich_style)
        cells = _cells(index, self.records[index])
        segments = []
        for i, ((_, w), cell) in enumerate(zip(COLUMNS, cells, strict=True)):
            text = cell.ljust(w)[:w] if len(cell) <= w else cell[: w - 1] + "…"
            style = Style()
            if i == 2:
                style = Style(color="green" if cell == "yes" else "red")
            segments.append(Segment(text + (" " if i < len(COLUMNS) - 1 else ""), style))
        strip = Strip(segments)
        if index == self.cursor:
            strip = strip.apply_style(Style(reverse=True, bold=self.has_focus))
        elif index % 2:
            strip = strip.apply_style(Style(bgcolor="grey11"))
        return strip.extend_cell_length(_WIDTH).crop(scroll_x, scroll_x + width)

    # --- moving ----------------------------------------------------------------------------------------
    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.records) - 1)) if self.records else 0

    def watch_cursor(self, old: int, new: int) -> None:
        if not self.records:
            return
        top = self.scroll_offset.y
        visible = max(1, self.size.height - 1)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + visible:
            self.scroll_to(y=new - visible + 1, animate=False)
        self.refresh()
        self.post_message(self.Highlighted(self, new))

    def action_move(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, delta: int) -> None:
        self.cursor += delta * max(1, self.size.height - 1)

    def action_jump(self, where: int) -> None:
        self.cursor = len(self.records) - 1 if where < 0 else where

    def on_click(self, event: Any) -> None:
        row = self.scroll_offset.y + event.y - 1
        if 0 <= row < len(self.records):
            self.cursor = row

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
