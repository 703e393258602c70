"""The usage bar: calls, prompt / cached / completion tokens and seconds, against the run's limits, live."""

from __future__ import annotations

from textual.widgets import Static

from agentkit.limits import Limits
from agentkit.models.usage import Usage

__all__ = ["UsageBar", "usage_line"]


def usage_line(usage: Usage, seconds: float, limits: Limits | None = None, *, model: str = "") -> str:
    """The bar's text (markup).

    Example:
        >>> usage_line(Usage(calls=3, prompt_tokens=120, cached_tokens=100, completion_tokens=40), 2.0, Limits(calls=10))
        'calls 3/10 · prompt 120 (cached 100) · completion 40 · 2.0 s · 20.0 tok/s'
    """
    limits = limits or Limits()

    def of(value: float, limit: float | None, fmt: str = "{:g}") -> str:
        text = fmt.format(value)
        if limit is None:
            return text
        return f"{text}/{fmt.format(limit)}" if value < limit else f"[red]{text}/{fmt.format(limit)}[/]"

    rate = f"{usage.completion_tokens / seconds:.1f}" if seconds >= 0.5 else "-"  # too short to mean anything
    parts = [f"calls {of(usage.calls, limits.calls)}",
             f"prompt {usage.prompt_tokens} (cached {usage.cached_tokens})", f"completion {usage.completion_tokens}"]
    if limits.tokens is not None:
        parts.append(f"tokens {of(usage.total_tokens, limits.tokens)}")
    parts += [f"{of(seconds, limits.seconds, '{:.1f}')} s", f"{rate} tok/s"]
    return (f"{model} · " if model else "") + " · ".join(parts)


class UsageBar(Static):
    """One line at the bottom of the chat; ``show`` is called a few times a second while a run goes."""

    shown = ""

    def show(self, usage: Usage, seconds: float, limits: Limits | None = None, *, model: str = "") -> None:
        text = usage_line(usage, seconds, limits, model=model)
        if text != self.shown:  # one line of fixed height: no layout pass (it would reflow the whole screen)
            self.shown = text
            self.update(text, layout=False)
