"""Worked examples from an environment's reference policy, one per task type, for prompts.

Example:
    >>> import asyncio
    >>> from agentkit.envs.base import Obs, StepResult, ThreadedEnv
    >>> class Steps(ThreadedEnv):
    ...     def task_ids(self): return ["a"]
    ...     def _reset(self, task_id):
    ...         self._gold = ["open door", "go out"]
    ...         return Obs("A closed door.", task="leave the room")
    ...     def _step(self, action):
    ...         return StepResult(f"You {action}.", done=action == "go out", won=action == "go out")
    >>> print(asyncio.run(expert_demos(Steps()))["env"])
    Task: leave the room
    A closed door.
    Action: open door
    Observation: You open door.
    Action: go out
    Observation: You go out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentkit.envs.base import ThreadedEnv
from agentkit.events import Action, Observation

__all__ = ["ExpertRun", "expert_demos", "play_expert", "run_expert"]


@dataclass
class ExpertRun:
    """One episode of the reference policy."""

    task: str
    opening: str
    steps: list[dict[str, Any]] = field(default_factory=list)  # {"action", "observation"} per step
    won: bool = False

    @property
    def transcript(self) -> str:
        lines = [f"Task: {self.task}", self.opening]
        for step in self.steps:
            lines += [f"Action: {step['action']}", f"Observation: {step['observation']}"]
        return "\n".join(lines)


async def run_expert(env: ThreadedEnv, task_id: str, *, max_steps: int = 100,
                     on_event: Callable[[Any], None] | None = None) -> ExpertRun:
    """Play the reference policy on ``task_id``; ``on_event`` sees each ``Action`` and ``Observation`` as
    it happens."""
    emit = on_event or (lambda event: None)
    obs = await env.reset(task_id)
    emit(Observation("reset", obs.text))
    run = ExpertRun(obs.task, obs.text)
    while len(run.steps) < max_steps and (action := await env.expert_action()) is not None:
        result = await env.step(action)
        emit(Action("expert", action))
        emit(Observation("expert", result.observation))
        run.steps.append({"action": action, "observation": result.observation})
        if result.done:
            run.won = result.won
            break
    return run


async def play_expert(env: ThreadedEnv, task_id: str, *, max_steps: int = 100) -> tuple[str, bool, int]:
    """Play the reference policy on ``task_id``: (the transcript, won, steps)."""
    run = await run_expert(env, task_id, max_steps=max_steps)
    return run.transcript, run.won, len(run.steps)


async def expert_demos(env: ThreadedEnv, *, max_steps: int = 40, max_chars: int = 3000, tries: int = 2
                       ) -> dict[str, str]:
    """For each task type in ``env``'s split, the shortest won expert transcript among its first ``tries``
    tasks (transcripts over ``max_chars`` are skipped). Use a split the evaluation does not use."""
    by_type: dict[str, list[str]] = {}
    for task_id in env.task_ids():
        by_type.setdefault(env.task_type(task_id), []).append(task_id)
    demos: dict[str, str] = {}
    for task_type, ids in by_type.items():
        played = [await play_expert(env, i, max_steps=max_steps) for i in ids[:tries]]
        won = sorted((text for text, ok, _ in played if ok and len(text) <= max_chars), key=len)
        if won:
            demos[task_type] = won[0]
    return demos
