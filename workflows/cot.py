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

from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agentkit.context import RunContext
from agentkit.workflows.nodes import extract_answer, make_generate

__all__ = ["CoTState", "build"]


class CoTState(TypedDict, total=False):
    question: str
    reasoning: str
    answer: str | None
    error: str | None


def build() -> CompiledStateGraph:
    """Build the CoT graph: ``generate`` (streams the reasoning) → ``extract`` (finds the answer)."""
    graph = StateGraph(CoTState, context_schema=RunContext)
    graph.add_node("generate", make_generate("cot"))
    graph.add_node("extract", extract_answer)
    graph.add_edge(START, "generate")
    graph.add_edge("generate", "extract")
    graph.add_edge("extract", END)
    return graph.compile()
