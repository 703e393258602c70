"""What a workflow's nodes receive: the run's dependencies and budget, injected rather than global.

Workflows pass a ``RunContext`` as LangGraph's runtime context (``graph.ainvoke(state, context=ctx)``);
nodes read it from ``runtime.context`` and call the model through ``ctx.generate`` / ``ctx.stream_text``,
which enforce the run's ``Limits`` and count its usage. Tests build one around a ``ScriptedModel``.

Prompts are data too: ``prompts`` overrides templates by name (role -> text), for this run only, checked
against the packaged template when the context is made, before any model call; nodes render
``ctx.template(name)``.

Example:
    >>> import asyncio
    >>> from agentkit.models.testing import ScriptedModel
    >>> RunContext(ScriptedModel(), prompts={"cot": {"system": "Be brief."}}).template("cot")["system"]
    'Be brief.'
    >>> ctx = RunContext(ScriptedModel(["4", "5"]), limits=Limits(calls=1))
    >>> asyncio.run(ctx.generate("2+2?")).text
    '4'
    >>> asyncio.run(ctx.generate("2+3?"))
    Traceback (most recent call last):
    ...
    agentkit.limits.BudgetExceeded: call limit reached (1 of 1 calls)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentkit.limits import BudgetExceeded, Limits
from agentkit.models.base import Completion, Model, Scores
from agentkit.models.usage import Usage, UsageMeter, track_usage
from agentkit.templates import Template, check_prompts
from agentkit.types import Message

__all__ = ["Limits", "RunContext"]


@dataclass(slots=True)
class RunContext:
    """The dependencies of one run. Make a new one per run: it carries that run's usage and clock.

    Attributes:
        model: the model every node calls.
        temperature: sampling temperature for single-answer generation (sampling nodes set their own).
        max_tokens: generation limit per model call.
        limits: the run's budget (calls, tokens, seconds).
        memory: the experience memory, when the run uses one.
        env: the environment an acting agent steps, when there is one.
        prompts: prompt overrides by template name (role -> template text); validated and merged with the
            packaged roles on construction.
        seed: the sampling seed of every call that sets none itself (``None``: the backend's default).
        usage: what this run has spent so far (filled by ``generate`` / ``stream_text``).
    """

    model: Model
    temperature: float = 0.0
    max_tokens: int = 512
    limits: Limits = field(default_factory=Limits)
    memory: Any = None
    env: Any = None
    prompts: Mapping[str, Template] = field(default_factory=dict)
    seed: int | None = None
    usage: UsageMeter = field(default_factory=UsageMeter)
    started: float | None = None
    in_flight: int = 0  # calls issued and not yet counted, so concurrent branches cannot overrun the call limit

    def __post_init__(self) -> None:
        if self.prompts:
            self.prompts = check_prompts(self.prompts)

    def template(self, prompt: str | Template) -> str | Template:
        """The template a node should render for ``prompt`` (a template name): this run's override, else the
        name itself (the packaged template). A template given as data passes through."""
        return self.prompts.get(prompt, prompt) if isinstance(prompt, str) else prompt

    @property
    def elapsed(self) -> float:
        """Seconds since the run's first model call."""
        return 0.0 if self.started is None else time.perf_counter() - self.started

    def exceeded(self) -> str | None:
        """Why the budget is spent, or ``None``."""
        usage = self.usage.usage
        if self.in_flight:
            usage = usage + Usage(calls=self.in_flight)
        return self.limits.exceeded(usage, seconds=self.elapsed)

    def _defaults(self, options: dict[str, Any]) -> None:
        options.setdefault("temperature", self.temperature)
        options.setdefault("max_tokens", self.max_tokens)
        if self.seed is not None:
            options.setdefault("seed", self.seed)

    def _check(self) -> None:
        if self.started is None:
            self.started = time.perf_counter()
        if reason := self.exceeded():
            raise BudgetExceeded(reason)
        self.in_flight += 1

    async def generate(self, messages: str | Sequence[Message], **options: Any) -> Completion:
        """``model.generate`` within the budget (``temperature`` and ``max_tokens`` default to the context's).

        Raises:
            BudgetExceeded: the budget was already spent before this call.
        """
        self._check()
        self._defaults(options)
        try:
            completion = await self.model.generate(messages, **options)
        finally:
            self.in_flight -= 1
        self.usage.add(completion.usage)
        return completion

    async def score(self, messages: str | Sequence[Message], continuations: Sequence[str]) -> Scores:
        """``model.score`` within the budget (a scoring call counts as a call; its tokens as prompt tokens).

        Raises:
            BudgetExceeded: the budget was already spent before this call.
        """
        self._check()
        try:
            scores = await self.model.score(messages, continuations)
        finally:
            self.in_flight -= 1
        self.usage.add(scores.usage)
        return scores

    async def stream_text(self, messages: str | Sequence[Message], on_piece: Callable[[str], None],
                          **options: Any) -> str:
        """Stream a reply within the budget, calling ``on_piece`` for each piece; returns the whole text."""
        self._check()
        self._defaults(options)
        pieces: list[str] = []
        with track_usage() as meter:
            try:
                async for piece in self.model.stream(messages, **options):
                    pieces.append(piece)
                    on_piece(piece)
            finally:
                self.in_flight -= 1
                self.usage.add(meter.usage)
        return "".join(pieces)

    @property
    def spent(self) -> Usage:
        """This run's usage so far."""
        return self.usage.usage
