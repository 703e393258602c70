"""Best-of-N with a verifier: sample ``n`` solutions (one batched call where the backend can), score each
with a step verifier (the task's programmatic check, the model as a judge, a served PRM; see
``agentkit.workflows.verifiers``) or your function, and keep the best, or with ``weighted`` the answer whose
solutions' scores sum highest (weighted majority voting).

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

from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agentkit.context import RunContext
from agentkit.workflows.nodes import (
    Candidate,
    StopReason,
    Verifier,
    make_sample,
    make_score,
    make_weighted_vote,
    select_best,
)
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
          verifier: str | Verifier = "auto", aggregate: Literal["last", "min", "prod", "mean"] = "last",
          weighted: bool = False, checkpointer: Any = None) -> CompiledStateGraph:
    """Build the best-of-N graph: ``sample`` → ``score`` → ``select``.

    Args:
        task: ``qa``, ``game24``, ``arithmetic``, ``gsm8k`` or a ``Task``.
        n: candidates.
        temperature: sampling temperature.
        verifier: ``auto`` (the task's check if it has one, else the LLM judge), ``task``, ``llm``,
            ``prm:URL#MODEL``, a ``StepVerifier``, or a function ``(question, answer) -> score | (score, why)``.
        aggregate: how step scores make a solution's score: ``last`` step, ``min``, ``prod``, ``mean``.
        weighted: elect the answer whose candidates' scores sum highest, rather than the top candidate.
        checkpointer: a LangGraph checkpointer so an interrupted run resumes.
    """
    task = get_task(task)
    graph = StateGraph(BestOfNState, context_schema=RunContext)
    graph.add_node("sample", make_sample(task, n=n, temperature=temperature))
    graph.add_node("score", make_score(task, verifier=verifier, aggregate=aggregate))
    graph.add_node("select", make_weighted_vote(task) if weighted else select_best)
    graph.add_edge(START, "sample")
    graph.add_edge("sample", "score")
    graph.add_edge("score", "select")
    graph.add_edge("select", END)
    return graph.compile(checkpointer=checkpointer)
