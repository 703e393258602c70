"""One turn of a chat: the user's message, or the answer as it streams (Markdown) with its status."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Markdown, Static

__all__ = ["AnswerTurn", "UserTurn"]

_STATUS = {"streaming": "[dim]…[/]", "cancelled": "[yellow]cancelled[/]", "failed": "[red]failed[/]",
           "interrupted": "[yellow]interrupted: the app stopped while this was written[/]", "done": ""}


class UserTurn(Static):
    """The user's message, as typed (not Markdown: what they wrote is what they see)."""

    def __init__(self, text: str) -> None:
        super().__init__(text, markup=False, classes="user-turn")


class AnswerTurn(Vertical):
    """An answer: its Markdown body, the extracted answer when the workflow gave one, and a status line."""

    def __init__(self, text: str = "", *, status: str = "streaming", answer: str | None = None,
                 error: str = "") -> None:
        super().__init__(classes="answer-turn")
        self.text, self.status, self.answer, self.error = text, status, answer, error

    def compose(self) -> ComposeResult:
        yield Markdown(self.text, classes="answer-body")
        yield Static("", classes="answer-status")

    def on_mount(self) -> None:
        self.show_status()

    @property
    def body(self) -> Markdown:
        return self.query_one(".answer-body", Markdown)

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
        """The run ended: show the whole text once more in full (so code fences close right) and the status."""
        self.status, self.answer, self.error = status, answer, error
        if text is not None:
            self.text = text
            await self.body.update(text)
        self.show_status()


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)
