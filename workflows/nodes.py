"""Reusable graph nodes. Each takes the state and LangGraph's ``Runtime[RunContext]`` and returns a partial
state update; model calls go through ``runtime.context.model``, events through ``runtime.stream_writer``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from langgraph.runtime import Runtime

from agentkit.context import RunContext
from agentkit.events import Answer, Stopped, Thought, Token
from agentkit.limits import BudgetExceeded
from agentkit.workflows.templates import render

__all__ = ["StopReason", "extract_answer", "find_answer", "first_reason", "guard", "make_generate"]

NodeFn = Callable[..., Awaitable[dict[str, Any]]]


def first_reason(old: str | None, new: str | None) -> str | None:
    """Reducer for ``stop_reason``: the first reason recorded wins (parallel branches may all hit it)."""
    return old or new


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

_ANSWER = re.compile(r"\banswer\s*(?:is)?\s*[:：]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


def find_answer(text: str) -> str | None:
    """The text after the last ``Answer:``, else the last LaTeX ``\\boxed{...}`` (Qwen models' habit).

    Example:
        >>> find_answer("2 and 2 make 4.\\n**Answer:** 4")
        '4'
        >>> find_answer("So the total is \\\\(\\\\boxed{8}\\\\) dollars.")
        '8'
    """
    matches = _ANSWER.findall(text.replace("**", ""))
    answer = matches[-1] if matches else _last_boxed(text)
    answer = (answer or "").strip().rstrip(".").strip()
    return answer or None


def _last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, begin = 0, start + len("\\boxed{")
    for i in range(begin, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            if depth == 0:
                return text[begin:i]
            depth -= 1
    return None


def make_generate(prompt: str, *, node: str = "generate", field: str = "reasoning"):
    """A node that fills prompt template ``prompt`` from the state, streams the model's reply as ``Token``
    events, and stores the text in ``state[field]``."""

    @guard
    async def generate(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
        messages = render(prompt, **{k: v for k, v in state.items() if isinstance(v, str)})
        text = await runtime.context.stream_text(messages, lambda piece: runtime.stream_writer(Token(node, piece)))
        runtime.stream_writer(Thought(node, text.strip()))
        return {field: text.strip()}

    generate.__name__ = node
    return generate


async def extract_answer(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Pull the final answer out of ``state["reasoning"]``; a missing one is recorded, not raised."""
    answer = find_answer(state.get("reasoning", ""))
    reason = "" if answer else "the model gave no 'Answer:' line"
    runtime.stream_writer(Answer(answer, reason))
    return {"answer": answer, "error": reason or None}
