"""Run budgets: how many model calls, tokens and seconds a run may spend.

A ``RunContext`` checks its ``Limits`` before every model call; when one is spent the call raises
``BudgetExceeded`` and the workflow's nodes turn that into a clean stop with the reason recorded in the
state (``stop_reason``), never a crash.

Example:
    >>> from agentkit.models.usage import Usage
    >>> Limits(calls=3).exceeded(Usage(calls=3), seconds=0.0)
    'call limit reached (3 of 3 calls)'
    >>> Limits(calls=3).exceeded(Usage(calls=2), seconds=0.0) is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass

from agentkit.errors import AgentkitError, UserError
from agentkit.models.usage import Usage

__all__ = ["BudgetExceeded", "Limits", "estimate_tokens"]


def estimate_tokens(text: str) -> int:
    """A deliberately high token estimate for prompt budgets (3 characters a token; English BPE averages
    about 4), so a budget holds without the model's tokenizer."""
    return len(text) // 3 + 4


class BudgetExceeded(AgentkitError):
    """A run's budget is spent; ``reason`` says which limit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Limits:
    """Budgets for one run; ``None`` means unlimited.

    Attributes:
        calls: model requests (an ``n=4`` call counts as the backend issues it: 1 natively, 4 emulated).
        tokens: prompt plus completion tokens over all calls.
        seconds: wall time since the run's first model call.
    """

    calls: int | None = None
    tokens: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("calls", "tokens", "seconds"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise UserError(f"Limit {name}={value} must be positive (or None for no limit).")

    def exceeded(self, usage: Usage, *, seconds: float) -> str | None:
        """The reason the budget is spent, or ``None`` while there is budget left."""
        if self.calls is not None and usage.calls >= self.calls:
            return f"call limit reached ({usage.calls} of {self.calls} calls)"
        if self.tokens is not None and usage.total_tokens >= self.tokens:
            return f"token limit reached ({usage.total_tokens} of {self.tokens} tokens)"
        if self.seconds is not None and seconds >= self.seconds:
            return f"time limit reached ({seconds:.1f} of {self.seconds:g} s)"
        return None
