"""Self-consistency: sample ``n`` chains of thought in one call (native ``n`` where the backend has it),
extract each answer, and take the majority (ties: the answer seen first; samples without one do not vote).

Example:
    >>> import asyncio
    >>> from agentkit.context import RunContext
    >>> from agentkit.models.testing import ScriptedModel
    >>> model = ScriptedModel(["Answer: 8", "Answer: 9", "Answer: $8", "no idea"])
    >>> final = asyncio.run(build(n=4).ainvoke({"question": "..."}, context=RunContext(model)))
    >>> final["answer"], final["votes"]
    ('8', {'8': 2, '9': 1})
"""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agentkit.context import RunContext
from agentkit.workflows.nodes import Candidate, StopReason, make_sample, make_vote
from agentkit.workflows.tasks import Task, get_task

__all__ = ["SCState", "build"]


class SCState(TypedDict, total=False):
    question: str
    candidates: list[Candidate]
    votes: dict[str, int]
    answer: str | None
    error: str | None
    stop_reason: StopReason


def build(*, task: str | Task | None = None, n: int = 5, temperature: float = 0.7,
          checkpointer: Any = None) -> CompiledStateGraph:
    """Build the self-consistency graph: ``sample`` (n samples) → ``vote``.

    Args:
        task: ``qa``, ``game24``, ``arithmetic`` or a ``Task``.
        n: samples to vote over.
        temperature: sampling temperature (0 would make every sample the same).
        checkpointer: a LangGraph checkpointer so an interrupted run resumes.
    """
    task = get_task(task)
    graph = StateGraph(SCState, context_schema=RunContext)
    graph.add_node("sample", make_sample(task, n=n, temperature=temperature))
    graph.add_node("vote", make_vote(task))
    graph.add_edge(START, "sample")
    graph.add_edge("sample", "vote")
    graph.add_edge("vote", END)
    return graph.compile(checkpointer=checkpointer)
