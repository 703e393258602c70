"""The world model and search config protocols, and the tree the algorithms grow.

States and actions must be plain data (str, numbers, lists, dicts): they live in the graph state, which the
checkpointer saves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, TypeVar

from agentkit.context import RunContext

__all__ = ["Evaluation", "InvalidAction", "Proposals", "SearchConfig", "TreeNode", "WorldModel"]

S = TypeVar("S")
A = TypeVar("A")


class InvalidAction(ValueError):
    """``WorldModel.step`` refuses an action; the message says why (recorded as a pruned proposal)."""


@dataclass(slots=True)
class Proposals:
    """Candidate actions from the model, and the lines it wrote that were not actions (with reasons)."""

    actions: list[Any] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A state's estimated value in [0, 1] and what it was based on."""

    value: float
    detail: str = ""


class WorldModel(Protocol[S, A]):
    """What a state is and how actions change it (deterministic, no model calls)."""

    def init_state(self) -> S: ...

    def step(self, state: S, action: A) -> S:
        """The state after ``action``; raises ``InvalidAction`` for an action that cannot be taken."""
        ...

    def is_terminal(self, state: S) -> bool: ...

    def describe(self, state: S) -> str:
        """A one-line view of the state for events and prompts."""
        ...

    def answer(self, state: S) -> str | None:
        """The answer a terminal state stands for."""
        ...


class SearchConfig(Protocol[S, A]):
    """Where the model comes in: proposing actions, judging states, reflecting on failures."""

    async def propose(self, ctx: RunContext, state: S, *, k: int, hints: Sequence[str]) -> Proposals:
        """Up to ``k`` actions from ``state``; ``hints`` are reflections on earlier failed attempts."""
        ...

    async def evaluate(self, ctx: RunContext, parent: S, children: Sequence[S]) -> list[Evaluation]:
        """Values of ``children`` (all proposed from ``parent``), one per child, in order."""
        ...

    def reward(self, state: S) -> float | None:
        """The exact reward of a terminal state (1.0 = solved), or ``None`` when only the value is known."""
        ...

    async def reflect(self, ctx: RunContext, path: Sequence[S]) -> str | None:
        """A lesson from a failed path (LATS-style), or ``None``."""
        ...


class TreeNode(TypedDict):
    """One node of the search tree, as plain data in the graph state."""

    id: int
    parent: int | None
    action: Any
    state: Any
    depth: int
    value: float
    visits: int
    total: float
    terminal: bool
    reward: float | None
    expanded: bool
    children: list[int]
