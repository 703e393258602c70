"""Token, call and time accounting, per model and per run.

Every call a model makes is added to the model's lifetime total and to each usage scope open in the
calling context. Scopes live in a ``ContextVar``, so concurrent runs sharing one model (asyncio tasks copy
the context) each count only their own calls.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, fields

__all__ = ["Usage", "UsageMeter", "record_usage", "track_usage"]


@dataclass(frozen=True, slots=True)
class Usage:
    """What one or more model calls cost.

    Attributes:
        calls: requests issued to the backend (an ``n=4`` call emulated by 4 requests counts 4).
        prompt_tokens: prompt tokens, including those served from a cache.
        completion_tokens: generated tokens, over all choices.
        cached_tokens: prompt tokens that were not recomputed (a reused KV prefix or a server cache).
        seconds: time spent waiting for the backend, summed over calls. Calls made concurrently overlap, so
            for a workflow that expands several nodes at once this exceeds the clock time: time the run
            itself (``RunContext.elapsed``) for that.
        scored_tokens: tokens of given text whose likelihood was computed (``Model.score``'s continuations):
            evaluated like a prompt, after it, but neither prompt nor generated.
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    seconds: float = 0.0
    scored_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Usage)))

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens + self.scored_tokens


class UsageMeter:
    """A mutable running total of ``Usage``; safe to add to from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage = Usage()

    def add(self, usage: Usage) -> None:
        with self._lock:
            self._usage = self._usage + usage

    @property
    def usage(self) -> Usage:
        return self._usage

    def __repr__(self) -> str:
        return f"UsageMeter({self._usage})"


_SCOPES: ContextVar[tuple[UsageMeter, ...]] = ContextVar("agentkit_usage_scopes", default=())


@contextlib.contextmanager
def track_usage() -> Iterator[UsageMeter]:
    """Count every model call made inside the block, whatever model makes it.

    Example:
        >>> from agentkit.models.testing import ScriptedModel
        >>> model = ScriptedModel(["4"])
        >>> with track_usage() as meter:
        ...     _ = model.generate_sync("2+2?")
        >>> meter.usage.calls
        1
    """
    meter = UsageMeter()
    token = _SCOPES.set((*_SCOPES.get(), meter))
    try:
        yield meter
    finally:
        _SCOPES.reset(token)


def record_usage(usage: Usage, *extra: UsageMeter) -> None:
    """Add ``usage`` to the given meters and to every scope open in the current context."""
    for meter in (*extra, *_SCOPES.get()):
        meter.add(usage)
