"""Game of 24: make 24 from four numbers with + - * / (each number used once).

The puzzles are every multiset of four numbers from 1 to 13 that has a solution, found by the exact solver
below (1,362 of the 1,820 multisets). Answers are checked exactly: the expression is parsed (never
``eval``-ed), must use exactly the puzzle's numbers, and is evaluated with fractions.

Example:
    >>> check_expression("(13 - 9) * (10 - 4)", [4, 9, 10, 13])
    (True, '(13 - 9) * (10 - 4) = 24')
    >>> check_expression("4 * 6", [4, 9, 10, 13])[1]
    'uses 4 6, but the puzzle is 4 9 10 13'
"""

from __future__ import annotations

import ast
import functools
import itertools
import random
import re
from fractions import Fraction
from typing import Any

from agentkit.errors import UserError
from agentkit.workflows.tasks.base import Problem, Task

__all__ = ["Game24Task", "check_expression", "puzzles", "solve"]

_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def solve(numbers: tuple[int, ...] | list[int], target: int = 24) -> str | None:
    """One expression that makes ``target`` from ``numbers``, or ``None`` if there is none.

    Example:
        >>> solve([1, 1, 1, 1]) is None
        True
        >>> solve([4, 9, 10, 13])
        '4 * (9 + (10 - 13))'
    """
    return _express(tuple(sorted(Fraction(n) for n in numbers)), Fraction(target))


def _express(items: tuple[Fraction, ...], target: Fraction) -> str | None:
    """An expression over ``items`` (sorted) worth ``target``. Each split of the items into two sides is
    tried; the right side's needed value is looked up among the values it can take, then both sides are
    expressed recursively."""
    if len(items) == 1:
        return str(items[0]) if items[0] == target else None
    rest = items[1:]
    for mask in range(2 ** len(rest) - 1):  # the first item's side of each split, so each split is seen once
        left = (items[0], *(x for i, x in enumerate(rest) if mask >> i & 1))
        right = tuple(x for i, x in enumerate(rest) if not mask >> i & 1)
        right_values = _values(right)
        for a in _values(left):
            needed = [(target - a, "{a} + {b}"), (a - target, "{a} - {b}"), (a + target, "{b} - {a}")]
            if a:
                needed += [(target / a, "{a} * {b}"), (target * a, "{b} / {a}")]
                if target:
                    needed.append((a / target, "{a} / {b}"))
            for b, form in needed:
                if b in right_values:
                    left_expr, right_expr = _express(left, a), _express(right, b)
                    return form.format(a=_wrap(left_expr), b=_wrap(right_expr))
    return None


def _wrap(expr: str | None) -> str:
    assert expr is not None  # both sides were looked up among reachable values
    return expr if expr.isdigit() else f"({expr})"


@functools.cache
def puzzles() -> list[tuple[tuple[int, int, int, int], str]]:
    """Every solvable multiset of four numbers from 1 to 13, with one solution each, in sorted order."""
    out = []
    for combo in itertools.combinations_with_replacement(range(1, 14), 4):
        solution = solve(combo)
        if solution is not None:
            out.append((combo, solution))
    return out


@functools.cache
def _values(items: tuple[Fraction, ...]) -> frozenset[Fraction]:
    """Every value an expression over ``items`` (sorted) can take: the fast test of solvability."""
    if len(items) == 1:
        return frozenset(items)
    out: set[Fraction] = set()
    rest = items[1:]
    for mask in range(2 ** len(rest) - 1):  # the first item's side of each split, so each split is seen once
        left = (items[0], *(x for i, x in enumerate(rest) if mask >> i & 1))
        right = tuple(x for i, x in enumerate(rest) if not mask >> i & 1)
        for a in _values(left):
            for b in _values(right):
                out.update((a + b, a - b, b - a, a * b))
                if b:
                    out.add(a / b)
                if a:
                    out.add(b / a)
    return frozenset(out)


def _evaluate(node: ast.AST, used: list[int]) -> Fraction:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        used.append(node.value)
        return Fraction(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _evaluate(node.left, used), _evaluate(node.right, used)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if right == 0:
            raise ValueError("divides by zero")
        return left / right
    raise ValueError(f"uses {ast.unparse(node)!r}; only whole numbers, + - * / and brackets are allowed")


def clean_expression(text: str) -> str:
    """An answer as a bare expression: ``×``/``÷``/``x`` become ``*``/``/``, a trailing ``= 24`` goes."""
    expr = text.replace("×", "*").replace("÷", "/").replace("−", "-").replace("\\times", "*").replace("\\div", "/")
    expr = re.sub(r"(?<=[\d)\s])x(?=[\s\d(])", "*", expr)
    expr = expr.strip().strip("$`").split("=")[0]
    return expr.strip()


def check_expression(text: str, numbers: list[int] | tuple[int, ...], target: int = 24) -> tuple[bool, str]:
    """Whether ``text`` makes ``target`` from exactly ``numbers``, and why (exact arithmetic, no ``eval``)."""
    expr = clean_expression(text)
    try:
        tree = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return False, f"{expr!r} is not an arithmetic expression"
    used: list[int] = []
    try:
        value = _evaluate(tree, used)
    except ValueError as e:
        return False, f"{expr!r} {e}"
    if sorted(used) != sorted(numbers):
        return False, f"uses {' '.join(map(str, sorted(used)))}, but the puzzle is {' '.join(map(str, sorted(numbers)))}"
    if value != target:
        return False, f"{expr} = {_show(value)}, not {target}"
    return True, f"{expr} = {target}"


def _show(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def parse_puzzle(question: str) -> list[int]:
    """The four numbers of a puzzle written as ``"4 9 10 13"`` (or with commas)."""
    return [int(n) for n in re.findall(r"\d+", question)]


class Game24Task(Task):
    """Game of 24: CoT/sampling prompts with worked examples, an exact verifier, and a step-wise search
    problem (each step combines two of the remaining numbers)."""

    name = "game24"
    prompts = {"cot": "game24_cot", "propose": "game24_propose", "step": "game24_step", "value": "game24_value",
               "vote": "game24_vote", "reflect": "game24_reflect", "aggregate": "game24_aggregate",
               "refine": "game24_refine"}
    max_depth = 3

    def __init__(self, *, sample_seed: int = 0) -> None:
        self.sample_seed = sample_seed

    def problems(self) -> list[Problem]:
        """Every solvable puzzle, id ``g24-NNNN`` in sorted order, the question ``"a b c d"``."""
        return [Problem(id=f"g24-{i:04d}", question=" ".join(map(str, combo)), reference=solution)
                for i, (combo, solution) in enumerate(puzzles())]

    def sample(self, size: int) -> list[Problem]:
        """A fixed random sample of puzzles (seeded, so every run and workflow sees the same ones)."""
        return random.Random(self.sample_seed).sample(self.problems(), size)

    def problem(self, key: str) -> Problem:
        """A puzzle by id (``g24-0042``) or by its four numbers (``"4 9 10 13"``, any order)."""
        if key.startswith("g24-"):
            return super().problem(key)
        numbers = parse_puzzle(key)
        if len(numbers) != 4:
            raise UserError(f"A Game of 24 puzzle is four whole numbers, like \"4 9 10 13\"; got {key!r}.")
        return Problem(id="g24-" + "-".join(map(str, sorted(numbers))), question=" ".join(map(str, numbers)),
                       reference=solve(numbers))

    def extract(self, text: str) -> str | None:
        answer = super().extract(text)
        return clean_expression(answer) if answer else None

    def normalize(self, answer: str) -> str:
        return re.sub(r"\s+", "", clean_expression(answer))

    def verify(self, question: str, answer: str) -> tuple[float, str]:
        ok, why = check_expression(answer, parse_puzzle(question))
        return (1.0 if ok else 0.0), why

    def score(self, problem: Problem, answer: str | None) -> bool:
        return answer is not None and self.verify(problem.question, answer)[0] == 1.0

    def search(self, question: str, *, verifier: Any = None, **options: Any) -> tuple[Any, Any]:
        from agentkit.workflows.tasks.game24_search import Game24Config, Game24World

        if verifier is not None:
            raise UserError("Game of 24 searches over numbers left, not steps of text: value them with the "
                            "model (--judging value|vote), not a step verifier.")
        return Game24World(parse_puzzle(question)), Game24Config(self, **options)
