"""Typed events a run streams as it goes (LangGraph ``stream_mode="custom"`` plus node start/end).

The CLI prints them now; the eval harness and the terminal UI consume the same objects. Nodes emit them
with ``runtime.stream_writer(event)``; ``agentkit.runtime.stream_run`` adds ``NodeStart``/``NodeEnd`` and
the final ``Done``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Action", "Answer", "Done", "Event", "NodeEnd", "NodeStart", "Observation", "Prune", "Score", "Stopped",
    "Thought", "Token",
]


@dataclass(frozen=True, slots=True)
class NodeStart:
    """A graph node began (one per parallel branch)."""

    node: str


@dataclass(frozen=True, slots=True)
class NodeEnd:
    """A graph node finished; ``error`` is set when it raised."""

    node: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Token:
    """A piece of text as the model generates it."""

    node: str
    text: str


@dataclass(frozen=True, slots=True)
class Thought:
    """A finished piece of reasoning (a sample, a proposed step, a reflection)."""

    node: str
    text: str


@dataclass(frozen=True, slots=True)
class Action:
    """An action an agent chose (``valid`` is False for one that was rejected)."""

    node: str
    text: str
    valid: bool = True


@dataclass(frozen=True, slots=True)
class Observation:
    """What the environment or a tool answered."""

    node: str
    text: str


@dataclass(frozen=True, slots=True)
class Score:
    """An evaluation of a candidate (a thought, a search state, an answer) in [0, 1] unless said otherwise."""

    node: str
    item: str
    value: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Prune:
    """A candidate dropped, and why (low value, invalid, beyond the beam, a model mistake)."""

    node: str
    item: str
    reason: str


@dataclass(frozen=True, slots=True)
class Stopped:
    """The run stopped early: a budget was spent or a limit reached."""

    reason: str


@dataclass(frozen=True, slots=True)
class Answer:
    """The run's final answer; ``text`` is ``None`` when none could be extracted (``reason`` says why)."""

    text: str | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Done:
    """The run ended: its final state and what it spent (emitted by ``stream_run``, last)."""

    state: dict[str, Any] = field(default_factory=dict)
    usage: Any = None


Event = NodeStart | NodeEnd | Token | Thought | Action | Observation | Score | Prune | Stopped | Answer | Done
