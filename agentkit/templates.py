"""Prompt templates, kept as YAML package data (``<package>/prompts/*.yaml``) rather than code literals.

Workflows keep theirs in ``agentkit.workflows``, the experience memory in ``agentkit.memory``.
"""

from __future__ import annotations

import functools
from importlib import resources

import yaml

from agentkit.errors import UserError
from agentkit.types import Message

__all__ = ["load_prompt", "render"]


@functools.cache
def load_prompt(name: str, package: str = "agentkit.workflows") -> dict[str, str]:
    """The templates of prompt ``name`` in ``package``: a mapping of role (``system``, ``user``) to template
    text."""
    path = resources.files(package) / "prompts" / f"{name}.yaml"
    if not path.is_file():
        raise UserError(f"No prompt template named {name!r} (looked for {path}).")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def render(name: str, /, *, package: str = "agentkit.workflows", **values: str) -> list[Message]:
    """Fill prompt ``name`` (of ``package``) with ``values`` into chat messages.

    Example:
        >>> render("cot", question="2+2?")[1]
        {'role': 'user', 'content': '2+2?'}
    """
    templates = load_prompt(name, package)
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
