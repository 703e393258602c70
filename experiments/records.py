"""The episode record: the one shape written to ``episodes.jsonl``, one JSON line per finished episode.

Agents and the reference policy fill the same fields; an episode that crashed has ``error`` set. Old lines
(written before this type existed) read back with defaults for what they lack; fields written by a newer
agentkit are kept in ``extra`` and written back unchanged. ``to_trajectory`` is the one conversion from an
episode to the experience memory's ``TrajectoryRecord``.

Example:
    >>> r = EpisodeRecord(task_id="coin/20000", env="textworld_express", split="test", task_type="coin",
    ...                   task="take the coin", won=True, reward=1.0, steps=1,
    ...                   trajectory=[{"thought": "", "action": "take coin", "observation": "Taken.", "valid": True}])
    >>> EpisodeRecord.from_json(r.to_json()) == r
    True
    >>> t = r.to_trajectory()
    >>> t.task, t.won, t.steps[0]["action"], t.source
    ('take the coin', True, 'take coin', 'agent')
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from agentkit.memory.records import TrajectoryRecord

__all__ = ["EpisodeRecord", "Step", "Tokens"]

Policy = Literal["agent", "expert"]


class Tokens(TypedDict):
    """Tokens an episode's model calls spent (``cached``: prompt tokens served from the KV cache)."""

    prompt: int
    cached: int
    completion: int
    total: int


class Step(TypedDict):
    """One step of an episode: what the agent thought, did and saw (``valid``: the action was accepted)."""

    thought: str
    action: str | None
    observation: str
    valid: bool


def _no_tokens() -> Tokens:
    return {"prompt": 0, "cached": 0, "completion": 0, "total": 0}


@dataclass(slots=True, kw_only=True)
class EpisodeRecord:
    """One finished episode.

    Attributes:
        task_id, env, split, task_type: which episode it was.
        policy: ``agent`` (a workflow on a model) or ``expert`` (the environment's reference policy).
        task: what the agent was asked to do; opening: what it saw first.
        won, reward, steps: how it went (steps: actions taken).
        stop_reason: why it stopped early (a step limit, a spent budget), when it did.
        error: why the episode failed to run (a crashed simulator, an agent bug), when it did.
        calls, tokens: what its model calls cost.
        model, workflow: who played it (``None`` for the expert).
        memory_ids: the memory records it wrote (a trajectory, a reflection), when it learned.
        trajectory: every step; transcript: the expert's episode as text.
        seconds, finished_at: how long it took, and when it finished (Unix time).
        extra: fields this version does not know (from a newer agentkit), kept as they were.
    """

    task_id: str
    env: str = ""
    split: str = ""
    task_type: str = ""
    policy: Policy = "agent"
    task: str = ""
    opening: str = ""
    won: bool = False
    reward: float = 0.0
    steps: int = 0
    stop_reason: str | None = None
    error: str | None = None
    calls: int = 0
    tokens: Tokens = field(default_factory=_no_tokens)
    model: str | None = None
    workflow: str | None = None
    memory_ids: list[int] | None = None
    trajectory: list[Step] = field(default_factory=list)
    transcript: str | None = None
    seconds: float = 0.0
    finished_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON line's object (``extra``'s fields at the top level, as they were read)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        return {**data, **self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EpisodeRecord:
        """A record from its JSON object; missing fields take their defaults, unknown ones go to ``extra``."""
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        if known.get("tokens") is None:
            known.pop("tokens", None)
        if known.get("trajectory") is None:
            known.pop("trajectory", None)
        return cls(**known, extra={k: v for k, v in data.items() if k not in names})

    def to_trajectory(self) -> TrajectoryRecord:
        """The episode as an experience-memory trajectory (its steps, outcome and who played it)."""
        expert = self.policy == "expert"
        return TrajectoryRecord(task=self.task or self.task_id, opening=self.opening, env=self.env,
                                task_type=self.task_type, task_id=self.task_id,
                                steps=[dict(s) for s in self.trajectory], won=self.won, reward=self.reward,
                                model=self.model or "", workflow="expert" if expert else self.workflow or "",
                                source="expert" if expert else "agent", seconds=self.seconds)
