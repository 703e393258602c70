"""A scripted model for tests: yours and ours.

``ScriptedModel`` answers from a list of replies (one per sample, in order) or from a function of the
request. It records every request so a test can assert on prompts, and counts usage like a real backend
(one token per whitespace-separated word).

Example:
    >>> model = ScriptedModel(["Let me think. Answer: 4"])
    >>> model.generate_sync("What is 2+2?").text
    'Let me think. Answer: 4'
    >>> model.requests[0].messages[0]["content"]
    'What is 2+2?'
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import replace
from typing import Any

from agentkit.models.base import Choice, Completion, Delta, GenerateRequest, Model, ScoreRequest, Scores
from agentkit.models.usage import Usage
from agentkit.types import Message

__all__ = ["ScriptExhaustedError", "ScriptedModel"]

Reply = str | dict[str, Any] | list[Any] | Choice
Responder = Callable[[GenerateRequest], Reply]


class ScriptExhaustedError(AssertionError):
    """The script ran out of replies: the code under test called the model more often than expected."""


class ScriptedModel(Model):
    """A fake model replying from a script.

    Args:
        replies: replies in order (a dict or list is sent as JSON; a ``Choice`` as it is, e.g. with
            ``logprobs``), or a function ``request -> reply``.
        default: the reply once the list is used up; without it, running out raises ``ScriptExhaustedError``.
        name: the model name reported in completions.
        delay: seconds each call takes (to test what happens while calls are in flight).
        rate: tokens per second a stream yields (a token is a word here); ``None`` streams at once.
        scorer: ``score``'s log-probability of a continuation, ``(messages, text) -> float``; by default
            every continuation scores 0 (so the first wins). Its token count is its word count.
    """

    backend = "scripted"
    is_real = False
    can_score = True

    def __init__(self, replies: Iterable[Reply] | Responder = (), *, default: Reply | None = None,
                 name: str = "scripted", delay: float = 0.0, rate: float | None = None,
                 scorer: Callable[[tuple[Message, ...], str], float] | None = None) -> None:
        super().__init__(name=name)
        self.scorer = scorer
        self.score_requests: list[ScoreRequest] = []
        self.delay = delay
        self.rate = rate
        self._responder = replies if callable(replies) else None
        self._replies = [] if callable(replies) else list(replies)
        self._default = default
        self.requests: list[GenerateRequest] = []

    @classmethod
    def from_spec(cls, target: str, **options: Any) -> ScriptedModel:
        """``scripted:TEXT`` always answers TEXT (handy for trying the CLI without a model)."""
        return cls(default=target or "", **options)

    @property
    def remaining(self) -> int:
        """Replies left in the script."""
        return len(self._replies)

    def _next(self, request: GenerateRequest) -> str | Choice:
        if self._responder is not None:
            reply = self._responder(request)
        elif self._replies:
            reply = self._replies.pop(0)
        elif self._default is not None:
            reply = self._default
        else:
            last = request.messages[-1]["content"]
            raise ScriptExhaustedError(
                f"ScriptedModel has no reply left for call #{len(self.requests)} (last message: {last[:80]!r}). "
                "Add replies to the script or pass default=..."
            )
        return reply if isinstance(reply, str | Choice) else json.dumps(reply)

    def _cut(self, reply: str | Choice, request: GenerateRequest) -> Choice:
        if isinstance(reply, Choice):
            return reply
        text = reply
        for s in request.stop:
            if s in text:
                text = text[: text.index(s)]
        words = re.findall(r"\s*\S+", text)  # a token is a word with the whitespace before it, kept as it was
        if len(words) > request.max_tokens:
            return Choice("".join(words[: request.max_tokens]).lstrip(), "length")
        return Choice(text, "stop")

    async def _generate(self, request: GenerateRequest) -> Completion:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        choices = [replace(self._cut(self._next(request), request), index=i) for i in range(request.n)]
        prompt = sum(len(m["content"].split()) for m in request.messages)
        out = sum(len(c.text.split()) for c in choices)
        return Completion(tuple(choices), Usage(calls=1, prompt_tokens=prompt, completion_tokens=out))

    async def _score(self, request: ScoreRequest) -> Scores:
        self.score_requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        scorer = self.scorer or (lambda messages, text: 0.0)
        tokens = tuple(max(1, len(text.split())) for text in request.continuations)
        prompt = sum(len(m["content"].split()) for m in request.messages)
        return Scores(tuple(float(scorer(request.messages, text)) for text in request.continuations), tokens,
                      Usage(calls=1, prompt_tokens=prompt, scored_tokens=sum(tokens)))

    async def _stream(self, request: GenerateRequest) -> AsyncIterator[Delta]:
        completion = await self._generate(request)
        choice = completion.choices[0]
        started = time.perf_counter()
        for i, piece in enumerate(re.findall(r"\s*\S+", choice.text)):
            if self.rate:  # on a schedule, as a real model does, not a sleep per token that drifts
                await asyncio.sleep(max(0.0, started + i / self.rate - time.perf_counter()))
            yield Delta(piece)
        yield Delta("", choice.finish_reason, completion.usage)
