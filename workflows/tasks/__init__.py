"""Tasks to measure workflows on: problems, prompts, answer checks and search problems.

``get_task("game24")``, ``get_task("arithmetic")`` or ``get_task("qa")`` (free questions, the default).
"""

from agentkit.workflows.tasks.base import Problem, Task
from agentkit.workflows.tasks.registry import TASKS, get_task, register_task

__all__ = ["TASKS", "Problem", "Task", "get_task", "register_task"]
