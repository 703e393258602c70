"""How the command line shows things: run events as styled lines, usage and per-problem tables.

The words come from ``agentkit.events.describe`` (shared with every face); this module adds only colour,
line length and which events a terse terminal skips.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from agentkit.events import (
    Action, Answer, Expand, NodeEnd, NodeStart, Observation, Prune, Recalled, Score, Stopped, Thought, Token,
    describe,
)
from agentkit.models.usage import Usage

__all__ = ["EventPrinter", "usage_table"]

_STYLES: dict[type, str] = {Thought: "dim", Observation: "", Score: "blue", Prune: "dim", Stopped: "yellow",
                            NodeStart: "dim", NodeEnd: "dim", Expand: "dim", Recalled: "magenta"}
_VERBOSE_ONLY = (NodeStart, NodeEnd, Expand, Recalled)  # the tree is already told by Thought/Score/Prune


class EventPrinter:
    """Prints a run's events as they come: tokens streamed in place, one line per other event (cut to 200
    characters unless ``verbose``), the answer in a panel."""

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        self.console, self.verbose = console, verbose
        self._streamed: set[str] = set()

    def __call__(self, event: Any) -> None:
        match event:
            case Token(node, text):
                self._streamed.add(node)
                self.console.print(text, end="", style="dim", highlight=False, markup=False)
            case Thought(node) if node in self._streamed:
                self.console.print()  # its text was streamed already: end the line
            case Action(valid=valid):
                self.line(describe(event), "cyan" if valid else "yellow")
            case Answer(text, reason):
                if text is not None:
                    self.console.print(Panel(escape(text), title="Answer", border_style="green", expand=False))
                else:
                    self.console.print(f"[yellow]No answer:[/] {escape(reason)}")
            case _ if isinstance(event, _VERBOSE_ONLY) and not self.verbose:
                pass
            case _ if type(event) in _STYLES:
                self.line(describe(event), _STYLES[type(event)])

    def line(self, text: str, style: str = "") -> None:
        text = text if self.verbose else " ".join(text.split())[:200]
        self.console.print(f"[{style}]{escape(text)}[/]" if style else escape(text), highlight=False)


def usage_table(usage: Usage, wall: float | None = None) -> Any:
    """Calls, tokens, seconds and generation rate. ``wall`` is the clock time the calls took; without it the
    calls' summed waits are shown, which overstate it when a workflow calls the model concurrently."""
    from rich.table import Table

    seconds = usage.seconds if wall is None else wall
    table = Table(title="Usage", title_justify="left")
    for column in ("calls", "prompt tokens", "cached", "completion tokens", "seconds", "tokens/s"):
        table.add_column(column, justify="right")
    rate = usage.completion_tokens / seconds if seconds else 0.0
    table.add_row(str(usage.calls), str(usage.prompt_tokens), str(usage.cached_tokens),
                  str(usage.completion_tokens), f"{seconds:.2f}", f"{rate:.1f}")
    return table
