"""What the experience memory keeps: trajectories, reflections, insights and concepts.

Each kind is a dataclass with a JSON form (``to_json`` / ``from_json``) and the text it is found by
(``key``): a trajectory by its task, a reflection by the task it failed, an insight or concept by its own
words. The store keeps them; the vector index embeds ``key``.

Example:
    >>> t = TrajectoryRecord(task="put a clean mug in the coffee machine", env="alfworld", task_type="pick_clean",
    ...                      steps=[{"action": "go to sink 1", "observation": "You see a mug."}], won=True, reward=1.0)
    >>> TrajectoryRecord.from_json(t.to_json()) == t, t.key
    (True, 'put a clean mug in the coffee machine')
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

from agentkit.errors import UserError

__all__ = ["KINDS", "Concept", "Insight", "Kind", "Record", "Reflection", "TrajectoryRecord", "record_class",
           "situation_key"]

Kind = Literal["trajectory", "reflection", "insight", "concept"]
KINDS: tuple[Kind, ...] = get_args(Kind)


@dataclass(kw_only=True)
class _Base:
    kind: ClassVar[Kind]
    id: int | None = None  # assigned by the store
    created: float = field(default_factory=time.time)

    @property
    def key(self) -> str:  # pragma: no cover - every kind overrides it
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names - {"kind"}
        if unknown:
            raise UserError(f"A {cls.kind} record has unknown fields {sorted(unknown)}; was it written by a newer "
                            "agentkit? Upgrade agentkit to read it.")
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(kw_only=True)
class TrajectoryRecord(_Base):
    """One finished episode: the task, every step (thought, action, observation) and how it ended."""

    kind: ClassVar[Kind] = "trajectory"
    task: str
    opening: str = ""  # the first observation: where the episode started
    env: str = ""
    task_type: str = ""
    task_id: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)
    won: bool = False
    reward: float = 0.0
    model: str = ""
    workflow: str = ""
    source: str = "agent"  # agent | expert (a demonstration)
    seconds: float = 0.0
    distilled: bool = False  # already compared with a success by ``distill_insights``

    @property
    def key(self) -> str:
        return situation_key(self.task, self.opening)

    @property
    def outcome(self) -> str:
        return "success" if self.won else "failure"


@dataclass(kw_only=True)
class Reflection(_Base):
    """What the agent concluded from a failed trajectory (Reflexion), linked to it."""

    kind: ClassVar[Kind] = "reflection"
    trajectory_id: int
    task: str
    text: str
    env: str = ""
    task_type: str = ""

    @property
    def key(self) -> str:
        return f"{self.task}\n{self.text}"


@dataclass(kw_only=True)
class Insight(_Base):
    """A rule distilled from comparing trajectories (ExpeL). ``strength`` rises with upvotes and falls with
    downvotes; at zero the insight is removed. ``history`` keeps every operation on it, old wording included.
    A ``pinned`` insight (a user's choice) is recalled before the others and never removed by distillation."""

    kind: ClassVar[Kind] = "insight"
    text: str
    env: str = ""
    strength: int = 2
    pinned: bool = False
    sources: list[int] = field(default_factory=list)  # trajectory ids it was drawn from
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.text


@dataclass(kw_only=True)
class Concept(_Base):
    """An abstraction across tasks: where objects of a kind are found, what a receptacle is for, ...
    ``support`` counts the trajectories that show it."""

    kind: ClassVar[Kind] = "concept"
    name: str
    text: str
    env: str = ""
    support: int = 1
    sources: list[int] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.name}: {self.text}"


def situation_key(task: str, opening: str = "") -> str:
    """What a trajectory is found by, and what a query for one looks like: the task, then the start of the
    opening observation (tasks of one kind often share their wording; the rooms differ)."""
    opening = " ".join(opening.split())[:_OPENING_CHARS]
    return f"{task}\n{opening}" if opening else task


_OPENING_CHARS = 300

Record = TrajectoryRecord | Reflection | Insight | Concept
_CLASSES: dict[str, type[Record]] = {c.kind: c for c in (TrajectoryRecord, Reflection, Insight, Concept)}


def record_class(kind: str) -> type[Record]:
    """The record class of ``kind``."""
    try:
        return _CLASSES[kind]
    except KeyError:
        raise UserError(f"Unknown memory record kind {kind!r}; use one of: {', '.join(KINDS)}.") from None
