"""Command-line option strings converted by the annotation of the parameter they feed.

Example:
    >>> convert_option("8192", int, "n_ctx"), convert_option("yes", bool | None, "x")
    (8192, True)
    >>> from collections.abc import Sequence
    >>> convert_option("coin, arithmetic", Sequence[str], "games")
    ['coin', 'arithmetic']
"""

from __future__ import annotations

from typing import Any

from agentkit.errors import UserError

__all__ = ["convert_option"]


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
