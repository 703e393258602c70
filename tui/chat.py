"""What a chat turn hands the library, and what it keeps of the run: no Textual here, so it is tested alone.

How earlier turns reach the workflow: workflows answer one ``question``; a chat's earlier turns are put in
front of the new message as a short transcript ("Earlier in this conversation: ... Now: ..."), newest turns
kept first, up to ``HISTORY_CHARS`` characters (about 1,000 tokens), so any workflow (a user's
``module:function`` too) sees the conversation without knowing it is in one. Failed and empty answers are
left out; a cancelled one is kept as far as it got.

Example:
    >>> compose_question([("user", "My name is Ada."), ("assistant", "Hello, Ada!")], "What is my name?")
    'Earlier in this conversation:\\nUser: My name is Ada.\\nAssistant: Hello, Ada!\\n\\nNow: What is my name?'
    >>> parse_workflow("tot algo=beam width=3")
    WorkflowChoice(name='tot', options={'algo': 'beam', 'width': 3})
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentkit.errors import UserError
from agentkit.events import Done, Event, Token
from agentkit.options import literal

__all__ = ["HISTORY_CHARS", "WORKFLOW_NAMES", "WorkflowChoice", "compose_question", "event_from_record", "event_record",
           "parse_workflow"]

HISTORY_CHARS = 4000
#: the workflows the picker offers (any ``module:function`` can be typed too)
WORKFLOW_NAMES = ("cot", "sc", "best-of-n", "react", "reflexion", "tot", "got", "mcts", "debate")


def compose_question(history: Sequence[tuple[str, str]], message: str, *, budget: int = HISTORY_CHARS) -> str:
    """``message`` with the conversation's earlier ``(role, text)`` turns in front, newest kept first."""
    kept: list[str] = []
    used = 0
    for role, text in reversed(history):
        text = text.strip()
        if not text:
            continue
        line = f"{'User' if role == 'user' else 'Assistant'}: {text}"
        if used + len(line) > budget:
            break
        kept.append(line)
        used += len(line)
    if not kept:
        return message
    return "Earlier in this conversation:\n" + "\n".join(reversed(kept)) + f"\n\nNow: {message}"


@dataclass(frozen=True)
class WorkflowChoice:
    """A workflow and its builder options, as the picker and the command palette set them."""

    name: str = "cot"
    options: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return " ".join([self.name, *(f"{k}={v}" for k, v in self.options.items())])


def parse_workflow(text: str) -> WorkflowChoice:
    """``NAME [key=value ...]`` (a value is read as JSON where it parses: numbers, booleans, lists)."""
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise UserError(f"Cannot read the workflow {text!r}: {e}.") from None
    if not words:
        raise UserError("Name a workflow, e.g. `cot` or `tot algo=beam width=3`.")
    options: dict[str, Any] = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise UserError(f"Workflow options are key=value, not {word!r} (e.g. `sc n=5`).")
        options[key.replace("-", "_")] = literal(value)
    return WorkflowChoice(words[0], options)


def event_record(event: Event) -> tuple[str, dict[str, Any]] | None:
    """What the history keeps of ``event``: its kind and fields. Tokens are in the answer's text already,
    and ``Done`` carries the whole state, so neither is kept."""
    if isinstance(event, Token | Done) or not dataclasses.is_dataclass(event):
        return None
    return type(event).__name__, dataclasses.asdict(event)


def event_from_record(kind: str, data: dict[str, Any]) -> Event | None:
    """The event the history kept as ``(kind, data)``, rebuilt (``None`` for a kind this version lacks)."""
    from agentkit import events

    cls = getattr(events, kind, None)
    if cls is None or not dataclasses.is_dataclass(cls):
        return None
    data = dict(data)
    if kind == "Recalled":
        data["items"] = tuple(events.RecalledItem(**item) for item in data.get("items", ()))
    if kind == "Expand":
        data["sources"] = tuple(data.get("sources", ()))
    try:
        return cls(**data)  # type: ignore[no-any-return]
    except TypeError:  # fields changed between versions: skip the event, keep the rest
        return None
