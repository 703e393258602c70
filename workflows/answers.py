"""Reading answers, scores and numbers out of model text: the parsing every task and workflow shares.

Example:
    >>> find_answer("2 and 2 make 4.\\n**Answer:** 4")
    '4'
    >>> parse_score("Step 2 is wrong. Score: 3/10")
    0.3
    >>> parse_number("So he pays 3/4 of $20, which is $15.")
    Fraction(15, 1)
"""

from __future__ import annotations

import ast
import itertools
import re
from fractions import Fraction

__all__ = ["answer_rule", "check_equations", "find_answer", "last_boxed", "parse_number", "parse_score"]

_ANSWER = re.compile(r"\banswer\s*(?:is)?\s*[:：]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_SCORE = re.compile(r"(?:score|rating)\s*[:=]?\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")


def find_answer(text: str) -> str | None:
    """The text after the last ``Answer:``, else the last LaTeX ``\\boxed{...}`` (Qwen models' habit).

    Example:
        >>> find_answer("So the total is \\\\(\\\\boxed{8}\\\\) dollars.")
        '8'
    """
    matches = _ANSWER.findall(text.replace("**", ""))
    answer = matches[-1] if matches else last_boxed(text)
    answer = (answer or "").strip().rstrip(".").strip()
    return answer or None


def answer_rule(text: str) -> str:
    """Which of ``find_answer``'s rules finds the answer in ``text``: ``answer:``, ``boxed`` or ``none``."""
    if _ANSWER.findall(text.replace("**", "")):
        return "answer:" if find_answer(text) else "none"
    return "boxed" if find_answer(text) else "none"


def last_boxed(text: str) -> str | None:
    """The contents of the last ``\\boxed{...}`` (nested braces kept), or ``None``."""
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


def parse_score(text: str) -> float | None:
    """The last ``Score: N`` (out of 10) in a reply, as a value in [0, 1]; ``None`` when there is none."""
    found = _SCORE.findall(text)
    return min(float(found[-1]), 10.0) / 10.0 if found else None


def parse_number(text: str) -> Fraction | None:
    """The last number in ``text`` as an exact fraction (``$1,200.50`` → 2401/2), or ``None``."""
    matches = _NUMBER.findall(text.replace("$", ""))
    if not matches:
        return None
    try:
        return Fraction(matches[-1].replace(",", ""))
    except (ValueError, ZeroDivisionError):
        return None


_TEXT = re.compile(r"\\(?:text|mathrm|mbox|textbf)\{[^{}]*\}")
_TIMES = re.compile(r"\\times|\\cdot|×|·|(?<=[\d)])\s*[x*]\s*(?=[\d(])")
_RUN = re.compile(r"[\d.+\-*/() =]*=[\d.+\-*/() =]*")
_OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
        ast.Div: lambda a, b: a / b}


def check_equations(text: str) -> tuple[list[str], list[str]]:
    """The equations written out in ``text`` (``2 * 6 = 12``, ``\\(3 \\times 4 = 12\\)``, calculator notes
    ``<<48/2=24>>``), recomputed exactly: (those that hold, those that do not). A rounded right side counts
    as holding when it is the exact value rounded to its decimals.

    Example:
        >>> check_equations("She pays 3 x $4 = $12, then 12 + 5 = 18. 10 / 3 = 3.33")
        (['3*4 = 12', '10 / 3 = 3.33'], ['12 + 5 = 18'])
    """
    clean = _TEXT.sub(" ", text)
    clean = re.sub(r"(?<=\d),(?=\d{3})", "", clean)
    clean = re.sub(r"\.(?!\d)", ";", clean)  # a full stop ends an equation; a decimal point does not
    clean = _TIMES.sub("*", clean.replace("\\div", "/").replace("÷", "/").replace("$", "").replace("\\", " "))
    good, bad = [], []
    for run in _RUN.findall(clean):
        parts = [p.strip() for p in run.split("=")]
        values = [(_arith(p), p) for p in parts]
        for (left, ltext), (right, rtext) in itertools.pairwise(values):
            if left is None or right is None or not re.search(r"\d\s*[-+*/]\s*\(?\d", ltext):
                continue
            equation = f"{ltext} = {rtext}"
            (good if _holds(left, right, rtext) else bad).append(equation)
    return good, bad


def _arith(text: str) -> Fraction | None:
    if not text or not re.fullmatch(r"[\d.+\-*/() ]+", text) or not re.search(r"\d", text):
        return None
    try:
        return _eval(ast.parse(text, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, KeyError, TypeError, RecursionError):
        return None


def _eval(node: ast.AST) -> Fraction:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return Fraction(str(node.value))
    if isinstance(node, ast.BinOp):
        return _OPS[type(node.op)](_eval(node.left), _eval(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand)
    raise ValueError("not arithmetic")


def _holds(left: Fraction, right: Fraction, written: str) -> bool:
    if left == right:
        return True
    decimals = len(written.rpartition(".")[2]) if "." in written and not re.search(r"[-+*/]", written) else 0
    return decimals > 0 and abs(left - right) <= Fraction(1, 2 * 10**decimals)
