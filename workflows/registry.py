"""Workflow names and import paths → graph builders.

Built-in workflows are registered by name; any other is given as ``package.module:function``, a function
that returns a compiled LangGraph graph (see ``cot.build`` for the shape).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from langgraph.graph.state import CompiledStateGraph

from agentkit.errors import UserError

__all__ = ["WORKFLOWS", "get_builder"]

Builder = Callable[[], CompiledStateGraph]

WORKFLOWS: dict[str, str] = {
    "cot": "agentkit.workflows.cot:build",
}


def get_builder(name: str) -> Builder:
    """The builder of workflow ``name`` (a registered name or ``module:function``).

    Example:
        >>> get_builder("cot").__module__
        'agentkit.workflows.cot'
    """
    path = WORKFLOWS.get(name, name)
    module_name, colon, attr = path.partition(":")
    if not colon:
        raise UserError(f"Unknown workflow {name!r}. Use one of {sorted(WORKFLOWS)} or an import path module:function.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise UserError(f"Cannot import workflow module {module_name!r}: {e}. Is it on PYTHONPATH?") from None
    builder = getattr(module, attr, None)
    if not callable(builder):
        raise UserError(f"{module_name!r} has no function {attr!r} to build the workflow.")
    return builder
