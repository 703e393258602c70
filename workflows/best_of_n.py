"""Best-of-N with a verifier: sample ``n`` solutions, score each with a programmatic verifier (the task's
own, or your function) or an LLM judge, keep the best.

Example:
    >>> import asyncio
    >>> from agentkit.context import RunContext
    >>> from agentkit.models.testing import ScriptedModel
    >>> model = ScriptedModel(["Answer: 4 * 6 = 24", "Answer: (13 - 9) * (10 - 4) = 24"])
    >>> graph = build(task="game24", n=2)
    >>> asyncio.run(graph.ainvoke({"question": "4 9 10 13"}, context=RunContext(model)))["answer"]
    '(13 - 9) * (10 - 4)'
"""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agentkit.context import RunContext
from agentkit.workflows.nodes import Candidate, StopReason, Verifier, make_sample, make_score, select_best
from agentkit.workflows.tasks import Task, get_task

__all__ = ["BestOfNState", "build"]


class BestOfNState(TypedDict, total=False):
    question: str
    candidates: list[Candidate]
    answer: str | None
    score: float | None
    error: str | None
    stop_reason: StopReason


def build(*, task: str | Task | None = None, n: int = 5, temperature: float = 0.7,
          verifier: str | Verifier = "auto", checkpointer: Any = None) -> CompiledStateGraph:
    """Build the best-of-N graph: ``sample`` → ``score`` → ``select``.

    Args:
        task: ``qa``, ``game24``, ``arithmetic`` or a ``Task``.
        n: candidates.
        temperature: sampling temperature.
        verifier: ``auto`` (the task's check if it has one, else an LLM judge), ``task``, ``llm`` or a
            function ``(question, answer) -> score | (score, feedback)``.
        checkpointer: a LangGraph checkpointer so an interrupted run resumes.
    """
    task = get_task(task)
    graph = StateGraph(BestOfNState, context_schema=RunContext)
    graph.add_node("sample", make_sample(task, n=n, temperature=temperature))
    graph.add_node("score", make_score(task, verifier=verifier))
    graph.add_node("select", select_best)
    graph.add_edge(START, "sample")
    graph.add_edge("sample", "score")
    graph.add_edge("score", "select")
    graph.add_edge("select", END)
    return graph.compile(checkpointer=checkpointer)
