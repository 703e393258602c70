"""Reusable graph nodes. Each takes the state and LangGraph's ``Runtime[RunContext]`` and returns a partial
state update; model calls go through ``runtime.context.model``, events through ``runtime.stream_writer``.
"""

from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime

from agentkit.context import RunContext
from agentkit.events import Answer, Thought, Token
from agentkit.workflows.templates import render

__all__ = ["extract_answer", "find_answer", "make_generate"]

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

    async def generate(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        messages = render(prompt, **{k: v for k, v in state.items() if isinstance(v, str)})
        pieces = []
        async for piece in ctx.model.stream(messages, temperature=ctx.temperature, max_tokens=ctx.max_tokens):
            pieces.append(piece)
            runtime.stream_writer(Token(node, piece))
        text = "".join(pieces).strip()
        runtime.stream_writer(Thought(node, text))
        return {field: text}

    generate.__name__ = node
    return generate


async def extract_answer(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Pull the final answer out of ``state["reasoning"]``; a missing one is recorded, not raised."""
    answer = find_answer(state.get("reasoning", ""))
    reason = "" if answer else "the model gave no 'Answer:' line"
    runtime.stream_writer(Answer(answer, reason))
    return {"answer": answer, "error": reason or None}
