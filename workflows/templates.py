"""Prompt templates, kept as YAML package data (``workflows/prompts/*.yaml``) rather than code literals."""

from __future__ import annotations

import functools
from importlib import resources

import yaml

from agentkit.errors import UserError
from agentkit.types import Message

__all__ = ["load_prompt", "render"]


@functools.cache
def load_prompt(name: str) -> dict[str, str]:
    """The templates of prompt ``name``: a mapping of role (``system``, ``user``) to template text."""
    path = resources.files("agentkit.workflows") / "prompts" / f"{name}.yaml"
    if not path.is_file():
        raise UserError(f"No prompt template named {name!r} (looked for {path}).")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def render(name: str, **values: str) -> list[Message]:
    """Fill prompt ``name`` with ``values`` into chat messages.

    Example:
        >>> render("cot", question="2+2?")[1]
        {'role': 'user', 'content': '2+2?'}
    """
    templates = load_prompt(name)
    messages: list[Message] = []
    for role in ("system", "user"):
        if role in templates:
            try:
                content = templates[role].format(**values)
            except KeyError as e:
                raise UserError(f"Prompt {name!r} ({role}) needs a value for {e.args[0]!r}; "
                                f"given: {sorted(values)}.") from None
            messages.append({"role": role, "content": content.strip()})
    return messages
