"""Option strings (``KEY=VALUE`` pairs from a command line, a form, a config file) turned into Python values.

``parse_pairs`` splits ``KEY=VALUE`` items; ``convert_option`` converts a string by the annotation of the
parameter it feeds; ``literal`` reads a value as JSON when it parses, else keeps the string. Both faces and
the experiments layer share them.

Example:
    >>> parse_pairs(["n_ctx=8192", "max-steps=3"], "--option")
    {'n_ctx': '8192', 'max_steps': '3'}
    >>> convert_option("8192", int, "n_ctx"), convert_option("yes", bool | None, "x")
    (8192, True)
    >>> from collections.abc import Sequence
    >>> convert_option("coin, arithmetic", Sequence[str], "games")
    ['coin', 'arithmetic']
    >>> literal("2500"), literal("[1, 2]"), literal("coin")
    (2500, [1, 2], 'coin')
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from typing import Any

from agentkit.errors import UserError

__all__ = ["convert_option", "literal", "parse_pairs"]


def parse_pairs(items: Iterable[str], flag: str) -> dict[str, str]:
    """``["a=1", "b-c=x"]`` → ``{"a": "1", "b_c": "x"}``; anything else is a usage error naming ``flag``."""
    pairs: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise UserError(f"{flag} takes KEY=VALUE, not {item!r}.")
        pairs[key.replace("-", "_")] = value
    return pairs


def literal(value: Any) -> Any:
    """A string value as JSON when it parses (numbers, booleans, lists), else the string; non-strings pass."""
    if not isinstance(value, str):
        return value
    with contextlib.suppress(ValueError):
        return json.loads(value)
    return value


def _bool(raw: str) -> bool:
    if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
        raise ValueError(raw)
    return raw.lower() in ("1", "true", "yes")


def _list(raw: str) -> list[str]:
    return [v.strip() for v in raw.split(",") if v.strip()]


def convert_option(raw: Any, hint: Any, key: str) -> Any:
    """``raw`` as the type ``hint`` names (bool, int, float, a sequence of strings from ``a,b``); other
    values and hints pass through. A string that does not convert is a ``UserError`` naming ``key``."""
    if not isinstance(raw, str):
        return raw
    text = str(hint)
    for name, kind, convert in (("Sequence", "comma-separated list", _list), ("bool", "true or false", _bool),
                                ("int", "whole number", int), ("float", "number", float)):
        if name in text:
            try:
                return convert(raw)
            except ValueError:
                raise UserError(f"Option {key}={raw!r} should be a {kind}.") from None
    return raw
