"""Chain-of-thought: one reasoning pass, then answer extraction.

Example:
    >>> import asyncio
    >>> from agentkit.context import RunContext
    >>> from agentkit.models.testing import ScriptedModel
    >>> graph = build()
    >>> ctx = RunContext(ScriptedModel(["2 plus 2 is 4.\\nAnswer: 4"]))
    >>> asyncio.run(graph.ainvoke({"question": "2+2?"}, context=ctx))["answer"]
    '4'
"""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agentkit.context import RunContext
from agentkit.events import Answer
from agentkit.workflows.nodes import StopReason, make_generate
from agentkit.workflows.tasks import Task, get_task

__all__ = ["CoTState", "build", "make_extract"]


class CoTState(TypedDict, total=False):
    question: str
    reasoning: str
    answer: str | None
    extracted_by: str
    error: str | None
    stop_reason: StopReason


def make_extract(task: Task, *, node: str = "extract"):
    """A node pulling the task's answer out of ``state["reasoning"]`` (``extracted_by``: the rule that found
    it); a missing one is recorded, not raised."""

    async def extract(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
        reasoning = state.get("reasoning", "")
        answer = task.extract(reasoning)
        reason = "" if answer else state.get("stop_reason") or task.no_answer
        runtime.stream_writer(Answer(answer, reason))
        return {"answer": answer, "error": reason or None, "extracted_by": task.extraction_rule(reasoning)}

    extract.__name__ = node
    return extract


def build(*, task: str | Task | None = None, checkpointer: Any = None) -> CompiledStateGraph:
    """Build the CoT graph: ``generate`` (streams the reasoning) → ``extract`` (finds the answer).

    Args:
        task: ``qa`` (default), ``game24``, ``arithmetic`` or a ``Task``: picks the prompt and the answer format.
        checkpointer: a LangGraph checkpointer so an interrupted run resumes.
    """
    task = get_task(task)
    graph = StateGraph(CoTState, context_schema=RunContext)
    graph.add_node("generate", make_generate(task.prompt("cot"), prepare=task.messages))
    graph.add_node("extract", make_extract(task))
    graph.add_edge(START, "generate")
    graph.add_edge("generate", "extract")
    graph.add_edge("extract", END)
    return graph.compile(checkpointer=checkpointer)
