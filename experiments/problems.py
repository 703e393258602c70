"""A reasoning task's problems as episodes, so ``run_eval`` runs GSM8K as it runs the text games.

``ProblemEnv`` is a one-step environment over a ``Task``'s held-out problems: ``reset(id)`` poses the
question, ``step(answer)`` scores the answer against the reference, which only the environment sees.
``SolverPlayer`` runs a reasoning workflow (CoT, SC, best-of-N, ToT, MCTS, debate ...) on the question and
plays its answer. Records, concurrency, resuming and the faces' events then come from the harness.

Example:
    >>> import asyncio
    >>> from agentkit.models.testing import ScriptedModel
    >>> from agentkit.workflows import cot
    >>> from agentkit.workflows.tasks import get_task
    >>> task = get_task("arithmetic")
    >>> env = ProblemEnv(task)
    >>> first = env.task_ids()[0]
    >>> play = SolverPlayer(cot.build(task=task), ScriptedModel([f"Answer: {env.problem(first).reference}"]), task)
    >>> async def one():
    ...     try:
    ...         return await play(env, first)
    ...     finally:
    ...         await env.close()
    >>> record = asyncio.run(one())
    >>> record.won, record.steps, record.trajectory[0]["observation"]
    (True, 1, 'correct')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from agentkit.context import RunContext
from agentkit.envs.base import Obs, StepResult, ThreadedEnv
from agentkit.events import Done
from agentkit.experiments.records import EpisodeRecord
from agentkit.limits import Limits
from agentkit.runtime import stream_run
from agentkit.workflows.tasks.base import Problem, Task

__all__ = ["ProblemEnv", "SolverPlayer"]

Emit = Callable[[str, Any], None]


class ProblemEnv(ThreadedEnv):
    """``task``'s held-out problems (``Task.held_out``) as one-step episodes; the task id is the problem id."""

    inline_seconds = 1.0  # a lookup and a comparison: never worth a thread hop

    def __init__(self, task: Task, split: str | None = None) -> None:
        self.name = task.name
        super().__init__()
        self.task, self.split = task, split or getattr(task, "split", "") or "all"
        self._by_id: dict[str, Problem] | None = None
        self._current: Problem | None = None

    def _problems(self) -> dict[str, Problem]:
        if self._by_id is None:
            self._by_id = {p.id: p for p in self.task.held_out()}
        return self._by_id

    def task_ids(self) -> list[str]:
        return list(self._problems())

    def problem(self, task_id: str) -> Problem:
        return self._problems()[task_id]

    def _reset(self, task_id: str) -> Obs:
        self._current = self.problem(task_id)
        return Obs(self._current.question, task=self._current.question)

    def _step(self, action: str) -> StepResult:
        problem = self._current
        if problem is None:
            raise RuntimeError("step before reset")
        if not action:
            return StepResult("no answer", done=True)
        won = bool(self.task.score(problem, action))
        return StepResult("correct" if won else f"wrong (the reference is {problem.reference})",
                          reward=1.0 if won else 0.0, done=True, won=won)


class SolverPlayer:
    """Plays a ``ProblemEnv`` episode: the reasoning ``graph`` answers the question on ``model``, the
    environment scores the answer. Each episode gets its own ``RunContext`` (``max_tokens`` per call,
    ``limits`` per episode), so one problem's budget never eats another's."""

    def __init__(self, graph: Any, model: Any, task: Task, *, workflow: str = "cot", temperature: float = 0.0,
                 seed: int | None = None, max_tokens: int = 512, limits: Limits | None = None,
                 prompts: Mapping[str, Mapping[str, str]] | None = None, memory: Any = None,
                 on_event: Emit | None = None) -> None:
        self.graph, self.model, self.task, self.workflow = graph, model, task, workflow
        self.temperature, self.seed, self.max_tokens = temperature, seed, max_tokens
        self.limits, self.prompts, self.memory = limits or Limits(), dict(prompts or {}), memory
        self.on_event = on_event or (lambda task_id, event: None)

    async def __call__(self, env: ThreadedEnv, task_id: str) -> EpisodeRecord:
        obs = await env.reset(task_id)
        ctx = RunContext(self.model, temperature=self.temperature, max_tokens=self.max_tokens, limits=self.limits,
                         memory=self.memory, prompts=self.prompts, seed=self.seed)
        state: dict[str, Any] = {}
        async for event in stream_run(self.graph, {"question": obs.task}, ctx):
            self.on_event(task_id, event)
            if isinstance(event, Done):
                state = event.state
        answer = state.get("answer")
        result = await env.step(str(answer) if answer is not None else "")
        usage = ctx.spent
        return EpisodeRecord(
            task_id=task_id, policy="agent", task=obs.task, won=result.won, reward=result.reward, steps=1,
            stop_reason=state.get("stop_reason") or state.get("error"), calls=usage.calls,
            tokens={"prompt": usage.prompt_tokens, "cached": usage.cached_tokens,
                    "completion": usage.completion_tokens, "scored": usage.scored_tokens,
                    "total": usage.total_tokens},
            model=self.model.name, workflow=self.workflow, memory_ids=state.get("memory_ids"),
            trajectory=[{"thought": _reasoning(state), "action": None if answer is None else str(answer),
                         "observation": result.observation, "valid": answer is not None}])


def _reasoning(state: Mapping[str, Any]) -> str:
    """The text behind the answer: CoT's reasoning, the chosen candidate's, or the search's path to it."""
    if state.get("reasoning"):
        return str(state["reasoning"])
    answer = state.get("answer")
    for candidate in state.get("candidates") or []:
        if candidate.get("answer") == answer and candidate.get("text"):
            return str(candidate["text"])
    tree, solution = state.get("tree") or [], state.get("solution")
    if solution is not None and solution < len(tree):  # a search: the actions on the way to the solution
        steps, node = [], tree[solution]
        while node["parent"] is not None:
            steps.append(str(node["action"]))
            node = tree[node["parent"]]
        return "\n\n".join(reversed(steps))
    return ""
