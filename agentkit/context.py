"""What a workflow's nodes receive: the run's dependencies, injected rather than global.

Workflows pass a ``RunContext`` as LangGraph's runtime context (``graph.ainvoke(state, context=ctx)``);
nodes read it from ``runtime.context``. Tests build one around a ``ScriptedModel``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentkit.models.base import Model

__all__ = ["RunContext"]


@dataclass(slots=True)
class RunContext:
    """The dependencies of one run.

    Attributes:
        model: the model every node calls.
        temperature: sampling temperature for generation nodes.
        max_tokens: generation limit per model call.
        memory: the experience memory, when the run uses one.
        env: the environment an acting agent steps, when there is one.
    """

    model: Model
    temperature: float = 0.0
    max_tokens: int = 512
    memory: Any = None
    env: Any = None
