"""One turn of a chat: the user's message, or the answer as it streams (Markdown) with its status.

Why the answer is built as it is. Textual's ``Markdown`` widget (and its ``get_stream``) makes a widget of
every block, list item, table cell and code line, and an append re-lays out the whole screen: measured here
(``benchmarks/tui_latency.py``), appends stalled the event loop 120-410 ms once a streamed answer held lists,
tables or code, growing with the answer. So an answer is drawn by Rich's Markdown renderer, a widget per
segment: the live segment is rendered again from its full text on every frame (a few a second), and it
never holds more than about ``LIVE_CHARS``: past that, everything before a safe break (a blank line outside
any code fence, followed by an unindented line) becomes a frozen segment, rendered once. Each render is
of complete text, so code fences and lists come out right as they stream, and when the stream ends the live
segment is rendered once more, in full. A long conversation stays a handful of widgets.
"""

from __future__ import annotations

import re
from typing import Any

from rich.markdown import Markdown as RichMarkdown
from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

__all__ = ["LIVE_CHARS", "AnswerTurn", "UserTurn", "safe_break"]

LIVE_CHARS = 1200
_STATUS = {"streaming": "[dim]…[/]", "cancelled": "[yellow]cancelled[/]", "failed": "[red]failed[/]",
           "interrupted": "[yellow]interrupted: the app stopped while this was written[/]", "done": ""}
_FENCE = re.compile(r"^ {0,3}(```|~~~)", re.MULTILINE)


def safe_break(text: str, keep: int = 200) -> int:
    """Where ``text`` can be cut into two Markdown documents that render as the one would: after the last
    blank line that is outside a code fence, is followed by an unindented line, and leaves at least ``keep``
    characters after it; 0 when there is none.

    Example:
        >>> safe_break("para one\\n\\npara two\\n\\n```\\ncode\\n\\nmore\\n```\\ntail", keep=1)
        20
    """
    best = 0
    for match in re.finditer(r"\n[ \t]*\n(?=\S)", text):
        end = match.end()
        if len(text) - end < keep:
            break
        if len(_FENCE.findall(text[:end])) % 2 == 0:
            best = end
    return best


class UserTurn(Static):
    """The user's message, as typed (not Markdown: what they wrote is what they see)."""

    def __init__(self, text: str) -> None:
        super().__init__(text, markup=False, classes="user-turn")


class AnswerTurn(Vertical):
    """An answer: its Markdown body, the extracted answer when the workflow gave one, and a status line.

    ``write`` adds streamed text (the screen calls it a few times a second); ``finish`` ends it."""

    def __init__(self, text: str = "", *, status: str = "streaming", answer: str | None = None,
                 error: str = "") -> None:
        super().__init__(classes="answer-turn")
        self.text, self.status, self.answer, self.error = text, status, answer, error
        self.live_text = text  # the live segment's text
        self.text_of_frozen: list[str] = []  # the segments rendered for good

    def compose(self) -> ComposeResult:
        yield _rendered(self.text, classes="answer-live" if self.status == "streaming" else "answer-body")
        yield Static("", classes="answer-status")

    def on_mount(self) -> None:
        self.show_status()

    @property
    def live(self) -> MarkdownText:
        return self.query_one(".answer-live", MarkdownText)

    async def write(self, piece: str) -> None:
        """Add streamed text and draw the live segment again."""
        self.text += piece
        self.live_text += piece
        if len(self.live_text) > LIVE_CHARS and (cut := safe_break(self.live_text)):
            done, self.live_text = self.live_text[:cut], self.live_text[cut:]
            self.text_of_frozen.append(done)
            await self.mount(_rendered(done, classes="answer-frozen"), before=self.live)
        self.live.set_text(self.live_text)

    def show_status(self) -> None:
        parts = [_STATUS.get(self.status, self.status)]
        if self.answer is not None and self.status == "done":
            parts.insert(0, f"[b]answer:[/] {escape(self.answer)}")
        if self.error:
            parts.append(f"[red]{escape(self.error)}[/]")
            if self.status == "failed":
                parts.append("[dim](ctrl+r retries)[/]")
        self.query_one(".answer-status", Static).update("  ".join(p for p in parts if p))
        for status in _STATUS:
            self.set_class(status == self.status, f"-{status}")

    async def finish(self, status: str, *, text: str | None = None, answer: str | None = None,
                     error: str = "") -> None:
        """The run ended: render the live segment once more, in full (or the whole of a final ``text`` that
        is not what streamed), and show the status."""
        self.status, self.answer, self.error = status, answer, error
        if text is not None and text != self.text:
            frozen = "".join(self.text_of_frozen)
            if not text.startswith(frozen):  # the workflow's final text is not what it streamed
                await self.query(".answer-frozen").remove()
                self.text_of_frozen = []
                frozen = ""
            self.text, self.live_text = text, text[len(frozen):]
        live = self.live
        live.set_text(self.live_text)
        live.set_classes("answer-body")
        self.show_status()


class MarkdownText(Widget):
    """Markdown rendered by Rich into lines once per text and width, and drawn line by line: measuring its
    height and drawing it share one render (a ``Static`` renders twice), which halves a streamed frame."""

    DEFAULT_CSS = "MarkdownText { height: auto; }"

    def __init__(self, text: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = text
        self._lines: tuple[int, list[Strip]] | None = None

    def set_text(self, text: str) -> None:
        if text != self.text:
            self.text, self._lines = text, None
            self.refresh(layout=True)

    def _render(self, width: int) -> list[Strip]:
        if self._lines is None or self._lines[0] != width:
            console = self.app.console
            options = console.options.update_width(max(1, width))
            lines = console.render_lines(_markdown(self.text), options, style=self.rich_style, pad=True)
            self._lines = (width, [Strip(line, width) for line in lines])
        return self._lines[1]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._render(width)) if self.text.strip() else 0

    def render_line(self, y: int) -> Strip:
        lines = self._render(self.size.width)
        return lines[y] if y < len(lines) else Strip.blank(self.size.width, self.rich_style)


def _markdown(text: str) -> RichMarkdown:
    """Rich's Markdown of ``text`` (malformed Markdown renders as text; it never raises)."""
    return RichMarkdown(text, code_theme="monokai", hyperlinks=True)


def _rendered(text: str, *, classes: str) -> MarkdownText:
    return MarkdownText(text, classes=classes)
