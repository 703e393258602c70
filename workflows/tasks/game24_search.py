"""Game of 24 as a search problem: a state is the numbers left and how each was made; an action combines
two of them (``13 - 9 = 4``). The world model checks every step exactly, so a model's arithmetic slip is a
rejected proposal, never a wrong state.

Example:
    >>> world = Game24World([4, 9, 10, 13])
    >>> s = world.step(world.init_state(), "13 - 9 = 4 (left: 4 4 10)")
    >>> s["numbers"], s["exprs"]
    (['4', '10', '4'], ['4', '10', '(13 - 9)'])
    >>> world.step(s, "4 * 4 = 15")
    Traceback (most recent call last):
    ...
    agentkit.workflows.search.base.InvalidAction: 4 * 4 is 16, not 15
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, TypedDict

from agentkit.workflows.search.base import InvalidAction, Proposals
from agentkit.workflows.search.llm import LLMSearchConfig

__all__ = ["Game24Config", "Game24State", "Game24World"]

_STEP = re.compile(r"(\d+(?:/\d+)?)\s*([-+*/×÷x])\s*(\d+(?:/\d+)?)\s*=\s*(-?\d+(?:\.\d+)?(?:/\d+)?)")
_VALUES = {"sure": 1.0, "likely": 0.3, "impossible": 0.0}


class Game24State(TypedDict):
    numbers: list[str]  # exact values left, as fractions ("8/3")
    exprs: list[str]  # how each was made
    steps: list[str]  # the steps taken, as "a op b = c (left: ...)"


def _fmt(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


class Game24World:
    """The world model of one puzzle."""

    def __init__(self, numbers: list[int], target: int = 24) -> None:
        self.numbers = list(numbers)
        self.target = target

    def init_state(self) -> Game24State:
        nums = [str(n) for n in self.numbers]
        return {"numbers": nums, "exprs": list(nums), "steps": []}

    def step(self, state: Game24State, action: str) -> Game24State:
        match = _STEP.search(action)
        if not match:
            raise InvalidAction(f"not a step of the form 'a op b = c': {action!r}")
        a, op, b, claimed = match.groups()
        op = {"×": "*", "x": "*", "÷": "/"}.get(op, op)
        left = list(state["numbers"])
        exprs = list(state["exprs"])
        picked = []
        for operand in (a, b):
            if operand not in left:
                raise InvalidAction(f"{operand} is not among the numbers left ({' '.join(state['numbers'])})")
            i = left.index(operand)
            picked.append(exprs.pop(i))
            left.pop(i)
        fa, fb = Fraction(a), Fraction(b)
        if op == "/" and fb == 0:
            raise InvalidAction("divides by zero")
        result = fa + fb if op == "+" else fa - fb if op == "-" else fa * fb if op == "*" else fa / fb
        try:
            claimed_ok = Fraction(claimed) == result
        except (ValueError, ZeroDivisionError):
            claimed_ok = False
        if not claimed_ok:
            raise InvalidAction(f"{a} {op} {b} is {_fmt(result)}, not {claimed}")
        left.append(_fmt(result))
        exprs.append(f"({picked[0]} {op} {picked[1]})")
        line = f"{a} {op} {b} = {_fmt(result)} (left: {' '.join(left)})"
        return {"numbers": left, "exprs": exprs, "steps": [*state["steps"], line]}

    def is_terminal(self, state: Game24State) -> bool:
        return len(state["numbers"]) == 1

    def describe(self, state: Game24State) -> str:
        if not state["steps"]:
            return " ".join(state["numbers"])
        return "; ".join(state["steps"])

    def answer(self, state: Game24State) -> str | None:
        if not self.is_terminal(state):
            return None
        expr = state["exprs"][0]
        return expr[1:-1] if expr.startswith("(") and expr.endswith(")") else expr


class Game24Config(LLMSearchConfig):
    """Model calls for Game of 24: propose steps, rate the numbers left (sure / likely / impossible)."""

    def prompt_values(self, state: Any) -> dict[str, str]:
        return {"numbers": " ".join(state["numbers"]), "steps": "\n".join(state["steps"]) or "(none yet)",
                "question": " ".join(state["numbers"])}

    def parse_actions(self, text: str, state: Any) -> Proposals:
        out = Proposals()
        for line in text.splitlines():
            match = _STEP.search(line.replace("**", ""))
            if match:
                action = " ".join(match.groups()[:3]) + " = " + match.group(4)
                if action not in out.actions:
                    out.actions.append(action)
            elif line.strip() and re.search(r"\d\s*[-+*/×÷]\s*\d", line):
                out.rejected.append((line.strip()[:80], "not a step of the form 'a op b = c'"))
        return out

    def parse_value(self, text: str) -> float | None:
        words = re.findall(r"\b(sure|likely|impossible)\b", text.lower())
        return _VALUES[words[-1]] if words else None

    def describe(self, state: Any) -> str:
        return f"left {' '.join(state['numbers'])}" + (f" after {'; '.join(state['steps'])}" if state["steps"] else "")

    def reward(self, state: Any) -> float | None:
        if len(state["numbers"]) != 1:
            return None
        return 1.0 if Fraction(state["numbers"][0]) == 24 else 0.0
