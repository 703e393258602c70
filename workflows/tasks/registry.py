"""Task names → task classes, by import path, so the base class never imports its subclasses.

Built-in tasks are registered by name; ``register_task`` adds yours, and any ``package.module:Class`` works
as a name too.

Example:
    >>> get_task("game24").name, get_task(None).name
    ('game24', 'qa')
    >>> get_task("chess")
    Traceback (most recent call last):
    ...
    agentkit.errors.UserError: Unknown task 'chess'. Use one of: qa, game24, arithmetic (or module:Class).
"""

from __future__ import annotations

from agentkit.errors import UserError
from agentkit.plugins import load_object
from agentkit.workflows.tasks.base import Task

__all__ = ["TASKS", "get_task", "register_task"]

TASKS: dict[str, str | type[Task]] = {
    "qa": Task,
    "game24": "agentkit.workflows.tasks.game24:Game24Task",
    "arithmetic": "agentkit.workflows.tasks.arithmetic:ArithmeticTask",
}


def register_task(name: str, task: str | type[Task]) -> None:
    """Make ``get_task(name)`` (and ``--task name``) build ``task``: a ``Task`` subclass or its import path."""
    TASKS[name] = task


def get_task(name: str | Task | None) -> Task:
    """A task by name (``qa`` when ``None``) or import path; a ``Task`` instance passes through."""
    if isinstance(name, Task):
        return name
    target = TASKS.get(name or "qa", name)
    if isinstance(target, str):
        if ":" not in target:
            raise UserError(f"Unknown task {name!r}. Use one of: {', '.join(TASKS)} (or module:Class).")
        target = load_object(target, what="task")
    if not (isinstance(target, type) and issubclass(target, Task)):
        raise UserError(f"{name!r} does not name a Task subclass.")
    return target()
