"""The events of an evaluation run, beside each episode's own (``agentkit.events``).

``run_eval``'s ``on_event(task_id, event)`` receives both: every event of every episode as it happens
(``task_id`` set), and these, which concern the run as a whole (``task_id`` is ``None``) or an episode's
start and end. ``describe`` gives each its line, as for any event.

Example:
    >>> describe(Phase("load_model", "Loading qwen-1.5b…"))
    'Loading qwen-1.5b…'
    >>> describe(Distilled(concepts=3, insights={"added": 2, "upvoted": 1}))
    'memory: 3 concepts written; insights: 2 added, 1 upvoted'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agentkit.events import describe
from agentkit.experiments.records import EpisodeRecord

__all__ = ["Distilled", "EpisodeFinished", "EpisodeStarted", "Phase", "PhaseDone", "RunStarted", "describe"]


@dataclass(frozen=True, slots=True)
class Phase:
    """A long step of the run began: ``load_model``, ``demos`` (playing the expert for demonstrations) or
    ``distill``. A ``PhaseDone`` of the same name follows."""

    name: str
    text: str


@dataclass(frozen=True, slots=True)
class PhaseDone:
    """That step ended, after ``seconds``."""

    name: str
    seconds: float


@dataclass(frozen=True, slots=True)
class RunStarted:
    """The run is ready and its episodes begin.

    Attributes:
        env, split, policy: what is played, by whom (``policy``: the workflow's name, or ``expert``).
        model: the model's name (``None`` for the expert).
        episodes: the episodes selected; finished, won: how many of them a resumed run had finished / won.
        already_done: every episode the run folder held when the run opened.
        concurrency: episodes at once; out: the run folder.
        memory, memory_records, frozen: the experience memory, its size, and whether it is read-only.
    """

    env: str
    split: str
    policy: str
    model: str | None
    episodes: int
    finished: int
    won: int
    already_done: int
    concurrency: int
    out: str
    memory: str | None = None
    memory_records: int = 0
    frozen: bool = False


@dataclass(frozen=True, slots=True)
class EpisodeStarted:
    """A worker began an episode."""

    task_id: str


@dataclass(frozen=True, slots=True)
class EpisodeFinished:
    """An episode ended and its record was written (``on_record`` receives the same record)."""

    record: EpisodeRecord


@dataclass(frozen=True, slots=True)
class Distilled:
    """The memory was distilled: concepts written, and the insight operations applied by kind."""

    concepts: int
    insights: dict[str, int] = field(default_factory=dict)


@describe.register
def _(event: Phase) -> str:
    return event.text


@describe.register
def _(event: PhaseDone) -> str:
    return f"{event.name} done in {event.seconds:.1f} s"


@describe.register
def _(event: RunStarted) -> str:
    model = f" · model {event.model}" if event.model else ""
    memory = ""
    if event.memory:
        memory = f" · memory {event.memory} ({event.memory_records} records{', read-only' if event.frozen else ''})"
    return (f"{event.env} {event.split} · {event.policy}{model} · {event.episodes} episodes ({event.already_done} "
            f"already done) · concurrency {event.concurrency} · {event.out}{memory}")


@describe.register
def _(event: EpisodeStarted) -> str:
    return f"{event.task_id}: started"


@describe.register
def _(event: EpisodeFinished) -> str:
    r = event.record
    outcome = "error" if r.error else "won" if r.won else "lost"
    return f"{r.task_id}: {outcome} in {r.steps} steps, {r.seconds:.0f} s"


@describe.register
def _(event: Distilled) -> str:
    done = ", ".join(f"{v} {k}" for k, v in event.insights.items() if v) or "no insight changes"
    return f"memory: {event.concepts} concepts written; insights: {done}"
