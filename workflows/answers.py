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

import re
from fractions import Fraction

__all__ = ["find_answer", "parse_number", "parse_score"]

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
    answer = matches[-1] if matches else _last_boxed(text)
    answer = (answer or "").strip().rstrip(".").strip()
    return answer or None


def _last_boxed(text: str) -> str | None:
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
