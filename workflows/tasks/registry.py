"""Task names → task classes, by import path, so the base class never imports its subclasses.

Built-in tasks are registered by name; ``register_task`` adds yours, and any ``package.module:Class`` works
as a name too.

Example:
    >>> get_task("game24").name, get_task(None).name
    ('game24', 'qa')
    >>> get_task("chess")
    Traceback (most recent call last):
    ...
    agentkit.errors.UserError: Unknown task 'chess'. Use one of: qa, game24, arithmetic, gsm8k (or module:Class).
"""

from __future__ import annotations

import inspect
from typing import Any, get_type_hints

from agentkit.errors import UserError
from agentkit.options import convert_option, parse_pairs
from agentkit.plugins import load_object
from agentkit.workflows.tasks.base import Task

__all__ = ["TASKS", "get_task", "register_task"]

TASKS: dict[str, str | type[Task]] = {
    "qa": Task,
    "game24": "agentkit.workflows.tasks.game24:Game24Task",
    "arithmetic": "agentkit.workflows.tasks.arithmetic:ArithmeticTask",
    "gsm8k": "agentkit.workflows.tasks.gsm8k:Gsm8kTask",
}


def register_task(name: str, task: str | type[Task]) -> None:
    """Make ``get_task(name)`` (and ``--task name``) build ``task``: a ``Task`` subclass or its import path."""
    TASKS[name] = task


def get_task(name: str | Task | None, **options: Any) -> Task:
    """A task by name (``qa`` when ``None``) or import path, built with ``options`` and any given in the
    name (``gsm8k?shots=4&split=test``); a ``Task`` instance passes through.

    Example:
        >>> get_task("gsm8k?shots=4").shots
        4
    """
    if isinstance(name, Task):
        return name
    name, _, query = (name or "qa").partition("?")
    if query:
        options = {**parse_pairs(query.split("&"), f"the task spec {name}?..."), **options}
    target = TASKS.get(name, name)
    if isinstance(target, str):
        if ":" not in target:
            raise UserError(f"Unknown task {name!r}. Use one of: {', '.join(TASKS)} (or module:Class).")
        target = load_object(target, what="task")
    if not (isinstance(target, type) and issubclass(target, Task)):
        raise UserError(f"{name!r} does not name a Task subclass.")
    if not options:
        return target()
    params = inspect.signature(target.__init__).parameters
    hints = get_type_hints(target.__init__)
    unknown = sorted(set(options) - set(params) - {"self"})
    if unknown:
        takes = ", ".join(p for p in params if p != "self") or "no options"
        raise UserError(f"Task {name!r} has no option {', '.join(unknown)}. It takes: {takes}.")
    return target(**{k: convert_option(v, hints.get(k), k) for k, v in options.items()})
