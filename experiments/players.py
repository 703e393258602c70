"""Players: who plays an episode. ``AgentPlayer`` runs a workflow graph on a model, streaming its events;
``ExpertPlayer`` plays the environment's reference policy (and records it in a memory, to learn from).
Both return the episode's ``EpisodeRecord``; the harness adds where and when.

Example:
    >>> import asyncio
    >>> from agentkit.envs.base import Obs, StepResult, ThreadedEnv
    >>> from agentkit.models.testing import ScriptedModel
    >>> from agentkit.workflows import react
    >>> class Coin(ThreadedEnv):
    ...     name = "coin"
    ...     def task_ids(self): return ["1"]
    ...     def _reset(self, task_id): return Obs("A coin.", task="take the coin", admissible=["take coin"])
    ...     def _step(self, action): return StepResult("Taken.", reward=1.0, done=True, won=True)
    >>> seen = []
    >>> play = AgentPlayer(react.build(), ScriptedModel(["Thought: take it.\\nAction: take coin"]),
    ...                    on_event=lambda task_id, event: seen.append(type(event).__name__))
    >>> async def one():
    ...     env = Coin()
    ...     try:
    ...         return await play(env, "1")
    ...     finally:
    ...         await env.close()
    >>> record = asyncio.run(one())
    >>> record.won, record.trajectory[0]["action"], seen[-1]
    (True, 'take coin', 'Done')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agentkit.context import RunContext
from agentkit.envs.base import ThreadedEnv
from agentkit.envs.demos import expert_demos, run_expert
from agentkit.events import Done
from agentkit.experiments.records import EpisodeRecord
from agentkit.runtime import stream_run

__all__ = ["AgentPlayer", "ExpertPlayer", "demonstrations"]

Emit = Callable[[str, Any], None]


def _ignore(task_id: str, event: Any) -> None:
    pass


class AgentPlayer:
    """Plays an episode with a workflow graph (its context schema ``RunContext``) on ``model``; every event
    of the run goes to ``on_event(task_id, event)`` as it happens.

    Args:
        graph: a compiled acting workflow whose input is ``{"task_id": ...}`` (e.g. ``react.build()``).
        model: the model every node calls.
        workflow: the workflow's name, kept in the records.
        temperature, seed, prompts: passed to each episode's ``RunContext``.
        memory: the experience memory the workflow recalls from and records into.
        max_tokens, limits: each episode's generation limit per call and budget (``Limits``).
    """

    def __init__(self, graph: Any, model: Any, *, workflow: str = "react", temperature: float = 0.0,
                 seed: int | None = None, prompts: Mapping[str, Mapping[str, str]] | None = None,
                 memory: Any = None, max_tokens: int | None = None, limits: Any = None,
                 on_event: Emit | None = None) -> None:
        self.graph, self.model, self.workflow = graph, model, workflow
        self.max_tokens, self.limits = max_tokens, limits
        self.temperature, self.seed, self.prompts, self.memory = temperature, seed, dict(prompts or {}), memory
        self.on_event = on_event or _ignore

    async def __call__(self, env: ThreadedEnv, task_id: str) -> EpisodeRecord:
        extra: dict[str, Any] = {"max_tokens": self.max_tokens} if self.max_tokens else {}
        if self.limits is not None:
            extra["limits"] = self.limits
        ctx = RunContext(self.model, temperature=self.temperature, env=env, memory=self.memory,
                         prompts=self.prompts, seed=self.seed, **extra)
        state: dict[str, Any] = {}
        async for event in stream_run(self.graph, {"task_id": task_id}, ctx):
            self.on_event(task_id, event)
            if isinstance(event, Done):
                state = event.state
        usage = ctx.spent
        steps = state.get("steps", [])
        return EpisodeRecord(
            task_id=task_id, policy="agent", task=state.get("question") or "", opening=state.get("opening") or "",
            won=bool(state.get("won")), reward=float(state.get("reward") or 0.0), steps=len(steps),
            stop_reason=state.get("stop_reason"), calls=usage.calls,
            tokens={"prompt": usage.prompt_tokens, "cached": usage.cached_tokens,
                    "completion": usage.completion_tokens, "scored": usage.scored_tokens,
                    "total": usage.total_tokens},
            model=self.model.name, workflow=self.workflow, memory_ids=state.get("memory_ids"),
            trajectory=[{"thought": s["thought"], "action": s["action"], "observation": s["observation"],
                         "valid": s["valid"], **({"tokens": s["tokens"]} if "tokens" in s else {})} for s in steps])


class ExpertPlayer:
    """Plays the environment's reference policy, at most ``max_steps`` actions; with a writable memory, the
    episode is stored as a demonstration (``source="expert"``)."""

    def __init__(self, *, max_steps: int = 100, memory: Any = None, on_event: Emit | None = None) -> None:
        self.max_steps, self.memory = max_steps, memory
        self.on_event = on_event or _ignore

    async def __call__(self, env: ThreadedEnv, task_id: str) -> EpisodeRecord:
        run = await run_expert(env, task_id, max_steps=self.max_steps,
                               on_event=lambda event: self.on_event(task_id, event))
        record = EpisodeRecord(
            task_id=task_id, env=env.name, split=env.split, task_type=env.task_type(task_id), policy="expert",
            task=run.task, opening=run.opening, won=run.won, reward=1.0 if run.won else 0.0, steps=len(run.steps),
            transcript=run.transcript,
            trajectory=[{"thought": "", "action": s["action"], "observation": s["observation"], "valid": True}
                        for s in run.steps])
        if self.memory is not None and not self.memory.frozen:
            record.memory_ids = [await self.memory.aadd(record.to_trajectory())]
        return record


async def demonstrations(make_env: Callable[[], ThreadedEnv], cache: Path | None = None) -> dict[str, str]:
    """One expert demonstration per task type (``expert_demos``), kept in ``cache`` (a JSON file) so a
    resumed run shows the same ones."""
    if cache is not None and cache.exists():
        return json.loads(cache.read_text())
    env = make_env()
    try:
        demos = await expert_demos(env)
    finally:
        await env.close()
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(demos, indent=1))
    return demos
