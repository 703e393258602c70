"""Typed events a run streams as it goes (LangGraph ``stream_mode="custom"`` plus node start/end).

Every face renders the same objects: the CLI prints ``describe(event)``, the eval harness forwards them to
``on_event``, the terminal UI draws them. Nodes emit them with ``runtime.stream_writer(event)``;
``agentkit.runtime.stream_run`` adds ``NodeStart``/``NodeEnd`` and the final ``Done``.

Tree searches (ToT, MCTS) and Graph-of-Thoughts emit an ``Expand`` for every node they add, with its ``id``
and ``parent``, so the whole structure can be redrawn from the stream alone; ``Score`` and ``Prune`` name
the node they concern when it has one. Memory recall is a ``Recalled`` event.

Example:
    >>> describe(Action("act", "open the door", valid=False))
    '→ open the door  (invalid)'
    >>> describe(Expand("integrate", id=3, parent=1, text="4 6", action="10 - 4 = 6", value=0.9))
    '  + #3 ← #1  10 - 4 = 6 → 4 6  (0.90)'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Action", "Answer", "Done", "Event", "Expand", "NodeEnd", "NodeStart", "Observation", "Prune", "Recalled",
    "RecalledItem", "Score", "Stopped", "Thought", "Token", "describe",
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
    """An evaluation of a candidate (a thought, a search state, an answer) in [0, 1] unless said otherwise.

    ``id`` is the scored tree node or thought when it has one yet; ``parent`` the node it was proposed from."""

    node: str
    item: str
    value: float
    detail: str = ""
    id: int | None = None
    parent: int | None = None


@dataclass(frozen=True, slots=True)
class Prune:
    """A candidate dropped, and why (low value, invalid, beyond the beam, a model mistake).

    ``id`` is the dropped tree node when it was one; a proposal refused before it became a node has only the
    ``parent`` it was proposed from."""

    node: str
    item: str
    reason: str
    id: int | None = None
    parent: int | None = None


@dataclass(frozen=True, slots=True)
class Expand:
    """A node joined a search tree (or a thought joined a graph of thoughts).

    Attributes:
        node: the graph node that added it.
        id: its id, unique within the run (the root is 0).
        parent: the node it grew from (``None`` for the root).
        text: the state (or thought) it stands for, on one line.
        action: the step that led to it from ``parent``.
        value: its estimated value, when judged.
        reward: its exact reward, for a finished path that has one.
        terminal: it ends a path.
        sources: every node it merges (Graph-of-Thoughts aggregation; ``parent`` is the first of them).
    """

    node: str
    id: int
    parent: int | None
    text: str
    action: str = ""
    value: float | None = None
    reward: float | None = None
    terminal: bool = False
    sources: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class RecalledItem:
    """One record the memory put into the prompt: its id and kind, its search score, the tokens it took."""

    id: int
    kind: str
    score: float | None
    tokens: int


@dataclass(frozen=True, slots=True)
class Recalled:
    """What the experience memory recalled for this run, as it went into the prompt (``text``)."""

    node: str
    items: tuple[RecalledItem, ...]
    tokens: int
    text: str


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


Event = (NodeStart | NodeEnd | Token | Thought | Action | Observation | Score | Prune | Expand | Recalled | Stopped
         | Answer | Done)


@functools.singledispatch
def describe(event: Any) -> str:
    """The one-line text a face shows for ``event`` (the CLI prints exactly this). Events of other layers
    (an eval run's) register their own with ``@describe.register``."""
    return f"[{type(event).__name__}]"


@describe.register
def _(event: NodeStart) -> str:
    return f"[NodeStart {event.node}]"


@describe.register
def _(event: NodeEnd) -> str:
    return f"[NodeEnd {event.node}]" + (f" error: {event.error}" if event.error else "")


@describe.register
def _(event: Token) -> str:
    return event.text


@describe.register
def _(event: Thought) -> str:
    return f"· {event.node}: {event.text}"


@describe.register
def _(event: Action) -> str:
    return f"→ {event.text}" + ("" if event.valid else "  (invalid)")


@describe.register
def _(event: Observation) -> str:
    return f"  {event.text}"


@describe.register
def _(event: Score) -> str:
    return f"  {event.node} {event.value:.2f}  {event.item}" + (f"  ({event.detail})" if event.detail else "")


@describe.register
def _(event: Prune) -> str:
    return f"  ✂ {event.item}: {event.reason}"


@describe.register
def _(event: Expand) -> str:
    edge = f"#{event.id}" + (f" ← #{event.parent}" if event.parent is not None else "")
    if len(event.sources) > 1:
        edge += " (merges " + ", ".join(f"#{s}" for s in event.sources) + ")"
    step = f"{event.action} → {event.text}" if event.action else event.text
    value = event.reward if event.reward is not None else event.value
    return f"  + {edge}  {step}" + (f"  ({value:.2f})" if value is not None else "")


@describe.register
def _(event: Recalled) -> str:
    kinds: dict[str, int] = {}
    for item in event.items:
        kinds[item.kind] = kinds.get(item.kind, 0) + 1
    listed = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in kinds.items()) or "nothing"
    return f"recalled {listed} ({event.tokens} tokens)"


@describe.register
def _(event: Stopped) -> str:
    return f"stopped: {event.reason}"


@describe.register
def _(event: Answer) -> str:
    return event.text if event.text is not None else f"No answer: {event.reason}"


@describe.register
def _(event: Done) -> str:
    usage = event.usage
    return "done" + (f" ({usage.calls} calls, {usage.total_tokens} tokens)" if usage is not None else "")
