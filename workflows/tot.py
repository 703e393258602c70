"""Tree-of-Thoughts: step-wise search over partial solutions with BFS, DFS (backtracking) or beam search,
``propose`` or ``sample`` generation and ``value`` or ``vote`` evaluation.

Example:
    >>> graph = build(task="game24", algo="beam", width=2)
    >>> sorted(graph.get_graph().nodes)
    ['__end__', '__start__', 'expand', 'finish', 'init', 'integrate', 'recall', 'record']
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph

from agentkit.workflows.search import build_search, make_algorithm
from agentkit.workflows.tasks import Task, get_task

__all__ = ["build"]


def build(*, task: str | Task | None = None, algo: Literal["bfs", "dfs", "beam", "mcts"] = "bfs",
          breadth: int | None = None, width: int | None = None, k: int | None = None,
          threshold: float | None = None, max_depth: int | None = None,
          aggregate: Literal["mean", "min", "last"] | None = None,
          generation: Literal["propose", "sample"] = "propose", judging: Literal["value", "vote"] = "value",
          n_evaluate: int = 1, verifier: str | None = None, checkpointer: Any = None) -> CompiledStateGraph:
    """Build a Tree-of-Thoughts graph.

    Args:
        task: ``qa`` (any question; steps of reasoning), ``game24``, ``arithmetic`` or a ``Task``.
        algo: ``bfs``, ``dfs``, ``beam`` (or ``mcts``, see ``agentkit.workflows.mcts``).
        breadth: states kept per level (BFS).
        width: beam width (beam).
        k: actions proposed per expansion.
        threshold: DFS prunes children valued under it.
        max_depth: steps at most (default: the task's).
        aggregate: beam: how a path's step values rank it (``mean``, ``min``, ``last``; default ``mean``).
        generation: ``propose`` (one prompt lists k steps) or ``sample`` (k samples of one step).
        judging: ``value`` (rate each state) or ``vote`` (pick the most promising of the siblings).
        n_evaluate: samples per value or vote.
        verifier: value states with a step verifier instead (``task``, ``llm``, ``prm:URL#MODEL``; see
            ``agentkit.workflows.verifiers``): with ``algo="beam"`` this is verifier-guided beam search.
        checkpointer: a LangGraph checkpointer so an interrupted run resumes.
    """
    options: dict[str, Any] = {"k": k, "max_depth": max_depth}
    if algo == "bfs":
        options["breadth"] = breadth
    elif algo == "beam":
        options["width"], options["aggregate"] = width, aggregate
    elif algo == "dfs":
        options["threshold"] = threshold
    algorithm = make_algorithm(algo, **options)
    return build_search(get_task(task), algorithm, checkpointer=checkpointer, generation=generation,
                        judging=judging, n_evaluate=n_evaluate, verifier=verifier)
