"""Workflow names and import paths → graph builders.

Built-in workflows are registered by name; any other is given as ``package.module:function``, a function
taking keyword options (``task``, ``checkpointer``, its own) and returning a compiled LangGraph graph whose
context schema is ``RunContext`` (see ``cot.build`` and ``examples/`` for the shape).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from agentkit.errors import UserError
from agentkit.plugins import load_object

__all__ = ["WORKFLOWS", "build_workflow", "check_options", "get_builder"]

Builder = Callable[..., CompiledStateGraph]

WORKFLOWS: dict[str, str] = {
    "cot": "agentkit.workflows.cot:build",
    "sc": "agentkit.workflows.self_consistency:build",
    "best-of-n": "agentkit.workflows.best_of_n:build",
    "react": "agentkit.workflows.react:build",
    "reflexion": "agentkit.workflows.reflexion:build",
    "tot": "agentkit.workflows.tot:build",
    "got": "agentkit.workflows.got:build",
    "mcts": "agentkit.workflows.mcts:build",
    "planned": "agentkit.workflows.roles:build",
    "debate": "agentkit.workflows.debate:build",
}
ALIASES = {"self-consistency": "sc", "bon": "best-of-n", "best_of_n": "best-of-n"}


def get_builder(name: str) -> Builder:
    """The builder of workflow ``name`` (a registered name or ``module:function``).

    Example:
        >>> get_builder("cot").__module__
        'agentkit.workflows.cot'
    """
    path = WORKFLOWS.get(ALIASES.get(name, name), name)
    if ":" not in path:
        raise UserError(f"Unknown workflow {name!r}. Use one of {sorted(WORKFLOWS)} or an import path module:function.")
    builder = load_object(path, what="workflow")
    if not callable(builder):
        raise UserError(f"{path!r} is not a function that builds a workflow.")
    return builder


def check_options(name: str, options: Iterable[str]) -> None:
    """Refuse option names workflow ``name``'s builder does not take, listing those it takes (the builder's
    signature is the schema)."""
    params = inspect.signature(get_builder(name)).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(options) - set(params))
    if unknown:
        takes = ", ".join(p for p in params if p != "checkpointer") or "no options"
        flags = ", ".join("--" + u.replace("_", "-") for u in unknown)
        raise UserError(f"Workflow {name!r} does not take {flags}. It takes: {takes}.")


def build_workflow(name: str, **options: Any) -> CompiledStateGraph:
    """Build workflow ``name`` with ``options``; options it does not take are refused with the ones it does.

    ``None`` values mean "not given" and are dropped, so callers can pass every flag they have.

    Example:
        >>> build_workflow("sc", n=3, algo=None).get_graph().nodes.keys() >= {"sample", "vote"}
        True
    """
    builder = get_builder(name)
    given = {k: v for k, v in options.items() if v is not None}
    check_options(name, given)
    graph = builder(**given)
    if not hasattr(graph, "astream"):
        raise UserError(f"Workflow {name!r}'s builder returned {type(graph).__name__}, not a compiled graph; "
                        "end it with `return graph.compile(checkpointer=checkpointer)`.")
    return graph
