"""Python functions as an environment: the action ``name[argument]`` calls tool ``name``, and
``finish[answer]`` ends the episode with that answer. A failing tool or an unknown one is an observation.

Example:
    >>> import asyncio
    >>> env = ToolEnv([calculator], task="What is 17 * 23?")
    >>> asyncio.run(env.step("calculator[17 * 23]")).observation
    '391'
    >>> asyncio.run(env.step("search[17]")).observation
    "Invalid action: no tool named 'search'. Use one of: calculator[...], finish[...]."
    >>> asyncio.run(env.step("finish[391]")).info
    {'answer': '391'}
"""

from __future__ import annotations

import ast
import inspect
import operator
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from agentkit.envs.base import Obs, StepResult

__all__ = ["Tool", "ToolEnv", "calculator", "parse_call"]

_CALL = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*\[(.*)\]\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Tool:
    """A named function of one string argument (sync or async) returning text."""

    name: str
    description: str
    fn: Callable[[str], str | Awaitable[str]]


def parse_call(action: str) -> tuple[str, str] | None:
    """``"name[arg]"`` → ``("name", "arg")``, else ``None``."""
    match = _CALL.match(action)
    return (match.group(1).lower(), match.group(2).strip()) if match else None


_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow, ast.Mod: operator.mod, ast.FloorDiv: operator.floordiv}


def _calc(node: ast.AST) -> Fraction:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _calc(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _calc(node.left), _calc(node.right)
        if isinstance(node.op, ast.Pow) and (right.denominator != 1 or abs(right) > 64):
            raise ValueError("only small whole powers are allowed")
        return Fraction(_BINARY[type(node.op)](left, right))
    raise ValueError(f"{ast.unparse(node)!r} is not arithmetic")


def _calculate(expression: str) -> str:
    try:
        value = _calc(ast.parse(expression.replace("^", "**").replace(",", ""), mode="eval").body)
    except ZeroDivisionError:
        return "Error: division by zero."
    except (SyntaxError, ValueError) as e:
        return f"Error: {e}. Give an arithmetic expression such as 12 * (3 + 4)."
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.6g}"


calculator = Tool("calculator", "evaluate an arithmetic expression, e.g. calculator[12 * (3 + 4) / 2]", _calculate)


class ToolEnv:
    """An environment whose actions call ``tools``; ``finish[answer]`` ends it."""

    def __init__(self, tools: Sequence[Tool], *, task: str = "") -> None:
        self.tools = {t.name: t for t in tools}
        self.task = task

    def describe(self) -> str:
        """The actions, one per line, for a prompt."""
        lines = [f"{t.name}[...]: {t.description}" for t in self.tools.values()]
        return "\n".join([*lines, "finish[answer]: give the final answer and stop"])

    async def reset(self, task: str | None = None) -> Obs:
        if task is not None:
            self.task = task
        return Obs(text="", task=self.task)

    async def step(self, action: str) -> StepResult:
        call = parse_call(action)
        names = ", ".join([*(f"{n}[...]" for n in self.tools), "finish[...]"])
        if call is None:
            return StepResult(f"Invalid action: {action!r} is not of the form tool[argument]. Use one of: {names}.")
        name, argument = call
        if name == "finish":
            return StepResult(f"Final answer: {argument}", done=True, info={"answer": argument})
        tool = self.tools.get(name)
        if tool is None:
            return StepResult(f"Invalid action: no tool named {name!r}. Use one of: {names}.")
        try:
            result = tool.fn(argument)
            if inspect.isawaitable(result):
                result = await result
        except Exception as e:  # a tool's failure is the agent's observation, not the run's crash
            return StepResult(f"Error from {name}: {type(e).__name__}: {e}")
        return StepResult(str(result))

    async def close(self) -> None:
        pass
