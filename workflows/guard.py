"""The budget guard every model-calling node wears, and the ``stop_reason`` field it fills.

A spent budget (``BudgetExceeded`` from ``RunContext``) must end a run cleanly, with the reason in the state
and a ``Stopped`` event, never as an exception that aborts the graph.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from langgraph.runtime import Runtime

from agentkit.context import RunContext
from agentkit.events import Stopped
from agentkit.limits import BudgetExceeded

__all__ = ["NodeFn", "StopReason", "first_reason", "guard"]

NodeFn = Callable[..., Awaitable[dict[str, Any]]]


def first_reason(old: str | None, new: str | None) -> str | None:
    """Reducer for ``stop_reason``: the first reason recorded wins (parallel branches may all hit it); an
    empty string clears it (an acting agent starting a new trial of the same task)."""
    return None if new == "" else old or new


#: The state field every workflow has: why the run stopped early (``None`` when it ran to the end).
StopReason = Annotated[str | None, first_reason]


def guard(node: NodeFn) -> NodeFn:
    """Wrap a node so a spent budget ends it cleanly: ``{"stop_reason": why}`` and a ``Stopped`` event,
    instead of an exception that would abort the graph. The state must declare ``stop_reason: StopReason``."""

    @functools.wraps(node)
    async def guarded(state: Any, runtime: Runtime[RunContext]) -> dict[str, Any]:
        try:
            return await node(state, runtime)
        except BudgetExceeded as e:
            runtime.stream_writer(Stopped(e.reason))
            return {"stop_reason": e.reason}

    return guarded
