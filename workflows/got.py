"""Graph-of-Thoughts: generate ``k`` thoughts, score them, keep the best ``keep``, aggregate those into one
new thought, then refine the best thought with its feedback up to ``refine_rounds`` times, scoring each
new thought; the best-scored thought answers.

    sample → score → keep_best → aggregate → score → refine ⇄ score → select

Example:
    >>> import asyncio
    >>> from agentkit.context import RunContext
    >>> from agentkit.models.testing import ScriptedModel
    >>> model = ScriptedModel(["Answer: 4 * 6", "Answer: 13 - 9 + 10 + 4", "Answer: (13 - 9) * (10 - 4)"])
    >>> final = asyncio.run(build(task="game24", k=2).ainvoke({"question": "4 9 10 13"}, context=RunContext(model)))
    >>> final["answer"], [c["origin"] for c in final["candidates"]]
    ('(13 - 9) * (10 - 4)', ['sample', 'sample', 'aggregate'])
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agentkit.context import RunContext
from agentkit.events import Expand, Prune, Thought
from agentkit.workflows.nodes import (
    Candidate, StopReason, Verifier, best, graph_entry, guard, make_sample, make_score, select_best, task_messages,
    thought_label,
)
from agentkit.workflows.tasks import Task, get_task

__all__ = ["GoTState", "build"]


class GoTState(TypedDict, total=False):
    question: str
    candidates: list[Candidate]
    thoughts: Annotated[list[dict[str, Any]], operator.add]  # every thought made: id, parents, origin, answer
    refinements: int
    answer: str | None
    score: float | None
    error: str | None
    stop_reason: StopReason


def build(*, task: str | Task | None = None, k: int = 4, keep: int = 2, refine_rounds: int = 1,
          temperature: float = 0.7, verifier: str | Verifier = "auto", checkpointer: Any = None) -> CompiledStateGraph:
    """Build the Graph-of-Thoughts graph.

    Args:
        task: ``qa``, ``game24``, ``arithmetic`` or a ``Task``.
        k: thoughts generated at the start (one call, native ``n``).
        keep: best thoughts kept and aggregated.
        refine_rounds: refinements of the best thought at most (none once one scores 1).
        temperature: sampling temperature for the first thoughts.
        verifier: how thoughts are scored, as in ``best_of_n.build``.
        checkpointer: a LangGraph checkpointer so an interrupted run resumes.
    """
    task = get_task(task)

    async def keep_best(state: GoTState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ranked = sorted(state.get("candidates", []), key=lambda c: (c["answer"] is not None, c.get("score", 0.0)),
                        reverse=True)
        for c in ranked[keep:]:
            runtime.stream_writer(Prune("keep_best", c["answer"] or "(no answer)",
                                        f"not among the best {keep} (score {c.get('score', 0.0):.2f})",
                                        id=c.get("id")))
        return {"candidates": ranked[:keep]}

    def new_thought(text: str, origin: str, parents: list[Candidate], state: GoTState,
                    runtime: Runtime[RunContext]) -> dict[str, Any]:
        """The update adding a thought made from ``parents`` (the first is its parent in events)."""
        runtime.stream_writer(Thought(origin, text.strip()))
        thought: Candidate = {"text": text.strip(), "answer": task.extract(text), "origin": origin,
                              "id": len(state.get("thoughts", [])) + 1, "parents": [p["id"] for p in parents]}
        runtime.stream_writer(Expand(origin, id=thought["id"], parent=thought["parents"][0],
                                     text=thought_label(thought),
                                     sources=tuple(thought["parents"]) if len(parents) > 1 else ()))
        return {"candidates": [*state["candidates"], thought], "thoughts": [graph_entry(thought)]}

    @guard
    async def aggregate(state: GoTState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        kept = [c for c in state.get("candidates", []) if c["answer"] is not None]
        if len(kept) < 2 or any(c.get("score", 0.0) >= 1.0 for c in kept):
            return {}  # nothing to merge, or already solved
        listing = "\n\n".join(f"Attempt {i + 1} (score {c.get('score', 0.0):.2f}; {c.get('feedback', '')}):\n"
                              f"{c['text']}" for i, c in enumerate(kept))
        messages = task_messages(task, "aggregate", ctx=runtime.context, question=state["question"], candidates=listing)
        text = (await runtime.context.generate(messages)).text
        return new_thought(text, "aggregate", kept, state, runtime)

    @guard
    async def refine(state: GoTState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        top = best(state.get("candidates", [])) or state["candidates"][0]
        messages = task_messages(task, "refine", ctx=runtime.context, question=state["question"], candidate=top["text"],
                                 feedback=top.get("feedback") or "the answer could not be checked")
        text = (await runtime.context.generate(messages)).text
        return {**new_thought(text, "refine", [top], state, runtime), "refinements": state.get("refinements", 0) + 1}

    def after_score(state: GoTState) -> str:
        top = best(state.get("candidates", []))
        solved = top is not None and top.get("score", 0.0) >= 1.0
        if state.get("stop_reason") or solved or state.get("refinements", 0) >= refine_rounds:
            return "select"
        return "refine"

    graph = StateGraph(GoTState, context_schema=RunContext)
    graph.add_node("sample", make_sample(task, n=k, temperature=temperature, numbered=True))
    graph.add_node("score", make_score(task, verifier=verifier))
    graph.add_node("keep_best", keep_best)
    graph.add_node("aggregate", aggregate)
    graph.add_node("score_new", make_score(task, verifier=verifier, node="score_new"))
    graph.add_node("refine", refine)
    graph.add_node("select", select_best)
    graph.add_edge(START, "sample")
    graph.add_edge("sample", "score")
    graph.add_edge("score", "keep_best")
    graph.add_edge("keep_best", "aggregate")
    graph.add_edge("aggregate", "score_new")
    graph.add_edge("refine", "score_new")
    graph.add_conditional_edges("score_new", after_score, ["refine", "select"])
    graph.add_edge("select", END)
    return graph.compile(checkpointer=checkpointer)
