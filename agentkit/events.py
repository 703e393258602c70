"""Typed events a run streams as it goes (LangGraph ``stream_mode="custom"``).

The CLI prints them now; the eval harness and the terminal UI consume the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Answer", "Event", "Thought", "Token"]


@dataclass(frozen=True, slots=True)
class Token:
    """A piece of text as the model generates it."""

    node: str
    text: str


@dataclass(frozen=True, slots=True)
class Thought:
    """A finished piece of reasoning."""

    node: str
    text: str


@dataclass(frozen=True, slots=True)
class Answer:
    """The run's final answer; ``text`` is ``None`` when none could be extracted (``reason`` says why)."""

    text: str | None
    reason: str = ""


Event = Token | Thought | Answer
