"""Chat messages, the currency every model backend and workflow exchanges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypedDict, get_args

from agentkit.errors import UserError

__all__ = ["Message", "Role", "as_messages"]

Role = Literal["system", "user", "assistant", "tool"]
_ROLES = frozenset(get_args(Role))


class Message(TypedDict):
    """One chat message, in the OpenAI wire shape."""

    role: Role
    content: str


def as_messages(messages: str | Sequence[Message]) -> list[Message]:
    """Normalise a prompt to a list of messages; a bare string becomes one user message.

    Example:
        >>> as_messages("What is 2+2?")
        [{'role': 'user', 'content': 'What is 2+2?'}]
    """
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    out: list[Message] = []
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        content = m.get("content") if isinstance(m, dict) else None
        if role not in _ROLES or not isinstance(content, str):
            raise UserError(
                f"Message {i} is not a chat message: {m!r}. "
                f"Pass dicts like {{'role': 'user', 'content': '...'}} with role one of {sorted(_ROLES)}."
            )
        out.append({"role": role, "content": content})
    if not out:
        raise UserError("No messages to send. Pass a prompt string or at least one message.")
    return out
