"""Reflexion for acting agents: a failed episode is played again from the start, up to ``trials`` times,
each new trial seeing the lessons the model wrote after the earlier ones.

``make_retry`` is the node between two trials: it writes the lesson of the trial that just failed (the
memory's ``reflect_episode`` prompt, on the trial's steps and why it ended), keeps the trial's outcome in
``trials`` and counts the trial; the graph then goes back to ``reset``, which starts the same game again
while ``reflections`` stay in the state and in the prompt (``ActingPrompt.head``). An episode is won when
any trial wins, as in Reflexion's protocol; every trial's tokens count against the episode's budget.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agentkit.context import RunContext
from agentkit.events import Thought
from agentkit.limits import BudgetExceeded
from agentkit.memory.distill import write_lesson
from agentkit.memory.records import TrajectoryRecord

__all__ = ["make_retry", "outcome", "should_retry"]


def outcome(state: dict[str, Any]) -> dict[str, Any]:
    """One trial's result as kept in ``trials``."""
    return {"won": bool(state.get("won")), "steps": len(state.get("steps", [])),
            "stop_reason": state.get("stop_reason")}


def should_retry(state: dict[str, Any], trials: int) -> bool:
    """Whether the trial that just ended failed and another one is allowed (not after a spent budget)."""
    reason = state.get("stop_reason") or ""
    return (not state.get("won") and len(state.get("trials", [])) + 1 < trials
            and not reason.startswith(("budget", "call limit", "token limit", "time limit")))


def make_retry(*, node: str = "retry"):
    """The node closing a failed trial: its lesson goes into ``reflections``, its outcome into ``trials``."""

    async def retry(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        done = [*state.get("trials", []), outcome(state)]
        trajectory = TrajectoryRecord(task=state["question"], opening=state.get("opening") or "",
                                      steps=[dict(s) for s in state.get("steps", [])])
        try:
            lesson = await write_lesson(trajectory, ctx, reason=state.get("stop_reason") or "")
        except BudgetExceeded as e:
            return {"trials": done, "stop_reason": str(e)}
        runtime.stream_writer(Thought(node, lesson))
        return {"trials": done, "reflections": [*state.get("reflections", []), lesson]}

    retry.__name__ = node
    return retry
