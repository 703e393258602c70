"""MCTS / lookahead over the same search problems as Tree-of-Thoughts (LATS-style): UCT selection,
expansion, evaluation, backpropagation, and a reflection on each failed finished path that goes into later
proposals.

Example:
    >>> import asyncio
    >>> from agentkit.context import RunContext
    >>> from agentkit.models.testing import ScriptedModel
    >>> model = ScriptedModel(["1 + 1 = 2 (left: 2 2 6)", "sure", "2 * 2 = 4 (left: 4 6)", "sure",
    ...                        "4 * 6 = 24 (left: 24)"])
    >>> final = asyncio.run(build(task="game24", k=1).ainvoke({"question": "1 1 2 6"}, context=RunContext(model)))
    >>> final["answer"], final["stop_reason"]
    ('(2 * (1 + 1)) * 6', 'solved')
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph

from agentkit.workflows.search import MCTS, build_search
from agentkit.workflows.tasks import Task, get_task

__all__ = ["build"]


def build(*, task: str | Task | None = None, iterations: int = 10, c: float = 1.0, k: int = 3,
          max_depth: int | None = None, reflect: bool = True,
          generation: Literal["propose", "sample"] = "propose", judging: Literal["value", "vote"] = "value",
          n_evaluate: int = 1, verifier: str | None = None, checkpointer: Any = None) -> CompiledStateGraph:
    """Build an MCTS graph.

    Args:
        task: ``qa``, ``game24``, ``arithmetic`` or a ``Task``.
        iterations: select-expand-backpropagate rounds at most.
        c: UCT exploration weight.
        k: children per expansion.
        max_depth: steps at most (default: the task's).
        reflect: reflect on failed finished paths and feed the lessons into later proposals.
        generation, judging, n_evaluate, verifier: as in ``tot.build``.
        checkpointer: a LangGraph checkpointer so an interrupted run resumes.
    """
    algorithm = MCTS(iterations=iterations, c=c, k=k, max_depth=max_depth, reflect=reflect)
    return build_search(get_task(task), algorithm, checkpointer=checkpointer, generation=generation,
                        judging=judging, n_evaluate=n_evaluate, verifier=verifier)
