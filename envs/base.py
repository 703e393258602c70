"""The environment protocol agents act in: reset → observation, step(action) → result, close.

Simulators (ALFWorld, WebShop, ScienceWorld, TextWorldExpress) and Python tools (``ToolEnv``) all speak
it, so ReAct and the eval harness work with any of them. Async, so several episodes run at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["Env", "Obs", "StepResult"]


@dataclass(frozen=True, slots=True)
class Obs:
    """What an agent sees after reset.

    Attributes:
        text: the opening observation.
        task: what the agent must do.
        admissible: the actions allowed now, when the environment lists them (``None``: free-form).
    """

    text: str
    task: str = ""
    admissible: list[str] | None = None


@dataclass(frozen=True, slots=True)
class StepResult:
    """The outcome of one action.

    Attributes:
        observation: what the environment answered (an invalid action gets an explanation here).
        reward: this step's reward.
        done: the episode ended.
        won: the task was accomplished.
        score: the environment's running score, when it keeps one.
        admissible: the actions allowed next, when listed.
        info: anything else (e.g. ``answer`` for a tool environment's ``finish``).
    """

    observation: str
    reward: float = 0.0
    done: bool = False
    won: bool = False
    score: float | None = None
    admissible: list[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Env(Protocol):
    """An environment; ``close`` releases its processes."""

    async def reset(self, task: str | None = None) -> Obs: ...

    async def step(self, action: str) -> StepResult: ...

    async def close(self) -> None: ...
