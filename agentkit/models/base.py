"""The one model interface every backend implements.

A backend subclasses ``Model`` and implements ``_generate`` (and, when it can stream, ``_stream``). The base
class validates arguments, loads heavy resources on first use, times calls and records usage, so a backend
file holds only what is specific to its engine.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal, TypeVar

from agentkit.errors import StructuredOutputError, UserError
from agentkit.models.usage import Usage, UsageMeter, record_usage
from agentkit.types import Message, as_messages

__all__ = ["Choice", "Completion", "Delta", "FinishReason", "GenerateRequest", "Model", "ScoreRequest", "Scores", "Usage"]

FinishReason = Literal["stop", "length"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    """A validated generation request, as backends receive it."""

    messages: tuple[Message, ...]
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    stop: tuple[str, ...] = ()
    seed: int | None = None
    schema: dict[str, Any] | None = None
    logprobs: int = 0

    def sample_seeds(self) -> list[int | None]:
        """One seed per choice, distinct when ``n > 1`` so repeated sampling gives different samples."""
        if self.n == 1:
            return [self.seed]
        base = self.seed if self.seed is not None else random.randrange(2**31)
        return [base + i for i in range(self.n)]


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    """A validated scoring request: how likely each continuation is after the chat."""

    messages: tuple[Message, ...]
    continuations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Scores:
    """The answer to one ``score`` call.

    Attributes:
        logprobs: per continuation, the sum of its tokens' log-probabilities given the chat.
        tokens: per continuation, how many tokens it is.
        usage: the chat's prompt tokens (once) and their KV-cache reuse; every continuation's tokens as
            ``scored_tokens``.
    """

    logprobs: tuple[float, ...]
    tokens: tuple[int, ...]
    usage: Usage = field(default_factory=Usage)

    def mean(self) -> list[float]:
        """Log-probability per token of each continuation (no preference for short ones)."""
        return [lp / max(1, n) for lp, n in zip(self.logprobs, self.tokens, strict=True)]

    def best(self, *, per_token: bool = False) -> int:
        """The index of the most likely continuation (the first of ties)."""
        values = self.mean() if per_token else list(self.logprobs)
        return max(range(len(values)), key=values.__getitem__)


@dataclass(frozen=True, slots=True)
class Choice:
    """One generated answer."""

    text: str
    finish_reason: FinishReason = "stop"
    index: int = 0
    #: with ``logprobs=k``: per generated token, its k most likely alternatives as text → log-probability.
    logprobs: tuple[dict[str, float], ...] | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """The answer to one ``generate`` call.

    Example:
        >>> from agentkit.models.testing import ScriptedModel
        >>> c = ScriptedModel(['{"answer": 4}']).generate_sync("2+2?", schema={"type": "object"})
        >>> c.text, c.json()["answer"], c.usage.calls
        ('{"answer": 4}', 4, 1)
    """

    choices: tuple[Choice, ...]
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    schema: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return self.choices[0].text

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.choices]

    def json(self, index: int = 0) -> Any:
        """Parse choice ``index`` as JSON and check it against the request's schema.

        Raises:
            StructuredOutputError: the text is not valid JSON or does not match the schema.
        """
        choice = self.choices[index]
        hint = (
            " The output was cut off at max_tokens: raise max_tokens."
            if choice.finish_reason == "length"
            else " Retry, simplify the schema, or use a backend with grammar-constrained output (llamacpp, vllm)."
        )
        try:
            value = json.loads(choice.text)
        except json.JSONDecodeError as e:
            raise StructuredOutputError(
                f"Model {self.model!r} returned text that is not JSON ({e.msg} at char {e.pos}).{hint}",
                text=choice.text,
            ) from None
        if self.schema is not None:
            import jsonschema  # local: only structured-output callers pay for it

            try:
                jsonschema.validate(value, self.schema)
            except jsonschema.ValidationError as e:
                raise StructuredOutputError(
                    f"Model {self.model!r} returned JSON that does not match the schema: {e.message}.{hint}",
                    text=choice.text,
                ) from None
        return value


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of a streamed answer; the last one carries the finish reason and usage."""

    text: str = ""
    finish_reason: FinishReason | None = None
    usage: Usage | None = None


class Model(ABC):
    """Base class of all backends: async-first ``generate`` and ``stream``, with sync helpers.

    Subclasses set ``backend`` and implement ``_generate``; they override ``setup`` to load heavy
    resources (called once, on first use, in a worker thread) and ``_stream`` when they can stream.
    """

    backend: ClassVar[str] = "model"
    #: Whether this backend talks to a real model (unit tests refuse real models).
    is_real: ClassVar[bool] = True

    def __init__(self, *, name: str | None = None) -> None:
        self.name = name or self.backend
        self.total = UsageMeter()
        self._ready = False
        self._setup_lock = threading.Lock()

    @classmethod
    def from_spec(cls, target: str, **options: Any) -> Model:
        """Build from the part of a spec string after ``backend:`` (see ``agentkit.models.registry``)."""
        return cls(target, **options)

    def setup(self) -> None:
        """Load weights, start clients. Idempotent; called on first use, never at import."""

    async def generate(
        self,
        messages: str | Sequence[Message],
        *,
        n: int = 1,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 512,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        schema: dict[str, Any] | None = None,
        logprobs: int = 0,
    ) -> Completion:
        """Generate ``n`` answers to a chat.

        Args:
            messages: a prompt string (one user message) or a list of chat messages.
            n: number of independent samples.
            temperature: 0 is greedy.
            top_p: nucleus sampling mass.
            max_tokens: generation limit per sample; a sample cut there has ``finish_reason == "length"``.
            stop: strings that end generation (not included in the text).
            seed: sampling seed; samples of one call get distinct seeds derived from it.
            schema: a JSON schema the output must follow (grammar-constrained where the backend can).
            logprobs: return each generated token's ``logprobs`` most likely alternatives with their
                log-probabilities (``Choice.logprobs``), where the backend can; 0 for none.

        A chat whose last message is the assistant's is continued: the reply extends that message.

        Example:
            >>> from agentkit.models.testing import ScriptedModel
            >>> import asyncio
            >>> asyncio.run(ScriptedModel(["Paris"]).generate("Capital of France?")).text
            'Paris'
        """
        request = _make_request(messages, n, temperature, top_p, max_tokens, stop, seed, schema, logprobs)
        await self.load()
        started = time.perf_counter()
        completion = await self._generate(request)
        usage = replace(completion.usage, seconds=time.perf_counter() - started)
        record_usage(usage, self.total)
        return replace(completion, usage=usage, model=completion.model or self.name, schema=schema)

    async def stream(
        self,
        messages: str | Sequence[Message],
        *,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 512,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        schema: dict[str, Any] | None = None,
    ) -> AsyncIterator[str]:
        """Yield the answer's text piece by piece as the model produces it (arguments as ``generate``).

        Example:
            >>> from agentkit.models.testing import ScriptedModel
            >>> async def collect(model):
            ...     return [piece async for piece in model.stream("Say hi")]
            >>> asyncio.run(collect(ScriptedModel(["hello there"])))
            ['hello', ' there']
        """
        request = _make_request(messages, 1, temperature, top_p, max_tokens, stop, seed, schema)
        await self.load()
        started = time.perf_counter()
        usage = Usage(calls=1)
        try:
            async for delta in self._stream(request):
                if delta.usage is not None:
                    usage = delta.usage
                if delta.text:
                    yield delta.text
        finally:
            record_usage(replace(usage, seconds=time.perf_counter() - started), self.total)

    #: Whether ``score`` works on this backend (it needs the model's likelihood of given text).
    can_score: ClassVar[bool] = False

    async def score(self, messages: str | Sequence[Message], continuations: Sequence[str]) -> Scores:
        """How likely the model finds each of ``continuations`` as the next text after ``messages``: the sum
        of its tokens' log-probabilities. A chat whose last message is the assistant's is continued (so
        ``[..., {"role": "assistant", "content": "Action:"}]`` scores what follows ``Action:``); otherwise the
        continuations begin the reply. The chat is evaluated once and every continuation reuses its KV
        cache, so each costs only its own tokens. This is how an agent picks among given actions.

        Raises:
            UserError: the backend cannot score (``can_score``), or the continuations are empty.

        Example:
            >>> from agentkit.models.testing import ScriptedModel
            >>> model = ScriptedModel(scorer=lambda chat, text: -len(text))
            >>> asyncio.run(model.score("Pick one", [" look", " go north"])).best()
            0
        """
        if not self.can_score:
            raise UserError(f"The {self.backend} backend cannot score continuations (it returns no likelihood of "
                            "given text). Use the embedded llama.cpp backend (qwen-1.5b, llamacpp:FILE.gguf) or "
                            "let the agent generate its action.")
        texts = tuple(continuations)
        if not texts or not all(isinstance(t, str) and t for t in texts):
            raise UserError("score() needs one or more non-empty continuation strings.")
        request = ScoreRequest(tuple(as_messages(messages)), texts)
        await self.load()
        started = time.perf_counter()
        scores = await self._score(request)
        usage = replace(scores.usage, seconds=time.perf_counter() - started)
        record_usage(usage, self.total)
        return replace(scores, usage=usage)

    async def _score(self, request: ScoreRequest) -> Scores:
        raise NotImplementedError

    def generate_sync(self, messages: str | Sequence[Message], **options: Any) -> Completion:
        """``generate`` for synchronous code (not from inside a running event loop)."""
        return _run_sync(lambda: self.generate(messages, **options))

    async def aclose(self) -> None:
        """Release clients, processes or weights."""

    @abstractmethod
    async def _generate(self, request: GenerateRequest) -> Completion: ...

    async def _stream(self, request: GenerateRequest) -> AsyncIterator[Delta]:
        """Fallback for backends that cannot stream: the whole answer as one piece."""
        completion = await self._generate(request)
        yield Delta(completion.text, completion.choices[0].finish_reason, completion.usage)

    async def load(self) -> None:
        """Load heavy resources now (in a worker thread) rather than on the first call."""
        if not self._ready:
            await asyncio.to_thread(self._setup_once)

    def _setup_once(self) -> None:
        with self._setup_lock:
            if not self._ready:
                self.setup()
                self._ready = True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _make_request(
    messages: str | Sequence[Message],
    n: int,
    temperature: float,
    top_p: float,
    max_tokens: int,
    stop: str | Sequence[str] | None,
    seed: int | None,
    schema: dict[str, Any] | None,
    logprobs: int = 0,
) -> GenerateRequest:
    problems = []
    if not isinstance(n, int) or n < 1:
        problems.append(f"n must be a positive integer, got {n!r}")
    if not 0.0 <= temperature <= 2.0:
        problems.append(f"temperature must be in [0, 2], got {temperature!r}")
    if not 0.0 < top_p <= 1.0:
        problems.append(f"top_p must be in (0, 1], got {top_p!r}")
    if not isinstance(max_tokens, int) or max_tokens < 1:
        problems.append(f"max_tokens must be a positive integer, got {max_tokens!r}")
    if not isinstance(logprobs, int) or not 0 <= logprobs <= 20:
        problems.append(f"logprobs must be a whole number from 0 to 20, got {logprobs!r}")
    if schema is not None and not isinstance(schema, dict):
        problems.append(f"schema must be a JSON schema dict, got {type(schema).__name__}")
    if problems:
        raise UserError("Invalid generate() arguments: " + "; ".join(problems) + ".")
    stops = (stop,) if isinstance(stop, str) else tuple(stop or ())
    return GenerateRequest(
        tuple(as_messages(messages)), n, float(temperature), float(top_p), max_tokens, stops, seed, schema, logprobs
    )


_loop_lock = threading.Lock()
_sync_loop: asyncio.AbstractEventLoop | None = None


def _run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on agentkit's background event loop, keeping the caller's context variables.

    One long-lived loop (rather than ``asyncio.run`` per call) lets async clients with connection pools be
    reused across synchronous calls.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise UserError("generate_sync() was called inside a running event loop; use `await model.generate(...)`.")
    global _sync_loop
    with _loop_lock:
        if _sync_loop is None:
            _sync_loop = asyncio.new_event_loop()
            threading.Thread(target=_sync_loop.run_forever, name="agentkit-sync-loop", daemon=True).start()
    context = contextvars.copy_context()

    async def in_callers_context() -> T:
        for var, value in context.items():
            var.set(value)
        return await make()

    return asyncio.run_coroutine_threadsafe(in_callers_context(), _sync_loop).result()
