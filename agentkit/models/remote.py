"""What every backend that talks to a chat-completions server shares.

Concurrency limit, per-request timeouts, retries with backoff on connection errors, 5xx, 429 and malformed
responses, ``n`` emulated with parallel requests where the server ignores it, and structured output through
``response_format`` with a fallback ladder. Subclasses only send one request (``_create``/``_create_stream``).

Retries are per request: when ``n`` is emulated with parallel requests and one of them fails, only that one
is retried; the answers already received are kept.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import weakref
from abc import abstractmethod
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from agentkit.errors import ContextOverflowError, ModelServerError
from agentkit.models.base import Choice, Completion, Delta, FinishReason, GenerateRequest, Model
from agentkit.models.usage import Usage

__all__ = ["RemoteChatModel"]

# Tried in order until the server accepts one; the first accepted is remembered.
# How servers word a prompt longer than the context (vLLM, llama.cpp, OpenAI).
_CONTEXT_REFUSAL = re.compile(r"context (length|window|size)|maximum context|exceeds? the available context",
                              re.IGNORECASE)
_SCHEMA_MODES = ("json_schema", "json_object+schema", "json_object")


class _Malformed(Exception):
    """The server answered 2xx with something that is not a chat completion."""


class _BadRequest(Exception):
    """The server rejected the request itself (400/422)."""


class RemoteChatModel(Model):
    """Base of the ``openai`` and ``litellm`` backends.

    Args:
        model: the model name the server knows.
        max_concurrency: requests in flight at once from this model object.
        timeout: seconds per request.
        retries: extra attempts per request after a retryable failure.
        backoff: first retry delay in seconds; doubles each attempt (with jitter), capped at 10 s.
        native_n: whether the server honours ``n``; ``None`` detects it on the first ``n > 1`` call.
    """

    def __init__(self, model: str, *, max_concurrency: int = 4, timeout: float = 120.0, retries: int = 3,
                 backoff: float = 0.5, native_n: bool | None = None, name: str | None = None) -> None:
        super().__init__(name=name or model)
        self.model = model
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.native_n = native_n
        self._schema_mode: str | None = None
        self._stream_usage = True
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    # -- what subclasses provide -------------------------------------------------------------------------

    @property
    @abstractmethod
    def where(self) -> str:
        """Where requests go, for error messages."""

    @abstractmethod
    async def _create(self, params: dict[str, Any]) -> Any:
        """Send one request (body: ``wire(params)``); return the parsed response (object or dict)."""

    @abstractmethod
    def _create_stream(self, params: dict[str, Any]) -> AsyncIterator[Any]:
        """Send one streaming request; yield the parsed chunks."""

    @abstractmethod
    def _classify(self, exc: BaseException) -> str:
        """``"retry"``, ``"bad_request"``, ``"fatal"`` (a clear server-side refusal) or ``"bug"``."""

    # -- generate ------------------------------------------------------------------------------------------

    async def _generate(self, request: GenerateRequest) -> Completion:
        seeds = request.sample_seeds()
        if request.n == 1 or self.native_n is False:
            parts = await asyncio.gather(*(self._one(request, 1, s) for s in seeds))
        else:
            first = await self._one(request, request.n, seeds[0])
            parts = [first]
            got = len(first[0])
            if got < request.n:
                if self.native_n is None:
                    self.native_n = False  # the server ignores n: emulate from now on
                parts += await asyncio.gather(*(self._one(request, 1, s) for s in seeds[got:]))
            elif self.native_n is None:
                self.native_n = True
        choices = [c for texts, _ in parts for c in texts][: request.n]
        usage = sum((u for _, u in parts), Usage())
        return Completion(tuple(replace(c, index=i) for i, c in enumerate(choices)), usage)

    async def _one(self, request: GenerateRequest, n: int, seed: int | None) -> tuple[list[Choice], Usage]:
        params = self._params(request, n, seed)
        response = await self._with_retries(params, request)
        return _parse_response(response)

    # -- stream --------------------------------------------------------------------------------------------

    async def _stream(self, request: GenerateRequest) -> AsyncIterator[Delta]:
        params = self._params(request, 1, request.seed)
        params["stream"] = True
        if self._stream_usage:
            params["stream_options"] = {"include_usage": True}
        usage, finish, pieces, started = Usage(calls=1), "stop", 0, False
        attempt = 0
        while True:
            try:
                async with self._semaphore():
                    async for chunk in self._create_stream(params):
                        data = _as_dict(chunk)
                        if data.get("usage"):
                            usage = _usage(data["usage"])
                        for choice in data.get("choices") or []:
                            text = (choice.get("delta") or {}).get("content") or ""
                            if choice.get("finish_reason"):
                                finish = _finish(choice["finish_reason"])
                            if text:
                                started, pieces = True, pieces + 1
                                yield Delta(text)
                break
            except Exception as exc:
                kind = self._classify(exc)
                rejected = kind == "bad_request" or (kind == "retry" and "stream_options" in str(exc))
                if rejected and "stream_options" in params and not started:
                    self._stream_usage = False  # older servers reject stream_options: drop it, once
                    params.pop("stream_options")
                    continue
                # Once text has been yielded a retry would repeat it, so only a failure before the first
                # piece is retried.
                attempt = await self._backoff(exc, "stream_cut" if started and kind == "retry" else kind, attempt)
        if usage.completion_tokens == 0:
            usage = Usage(calls=1, prompt_tokens=usage.prompt_tokens, completion_tokens=pieces)
        yield Delta("", finish, usage)

    # -- shared machinery ----------------------------------------------------------------------------------

    def _params(self, request: GenerateRequest, n: int, seed: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": list(request.messages),
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_tokens,
        }
        if n > 1:
            params["n"] = n
        if request.stop:
            params["stop"] = list(request.stop)
        if seed is not None:
            params["seed"] = seed
        if request.logprobs:
            params["logprobs"], params["top_logprobs"] = True, request.logprobs
        if request.messages[-1]["role"] == "assistant" and len(request.messages) > 1:
            # Continue the assistant's message: vLLM needs these; llama.cpp's server does it by default.
            params["extra_body"] = {"continue_final_message": True, "add_generation_prompt": False}
        if request.schema is not None:
            _apply_schema(params, request.schema, self._schema_mode or _SCHEMA_MODES[0])
        return params

    async def _with_retries(self, params: dict[str, Any], request: GenerateRequest) -> Any:
        attempt = 0
        while True:
            try:
                async with self._semaphore():
                    response = await self._create(params)
                _check_shape(response)
                return response
            except Exception as exc:
                kind = "retry" if isinstance(exc, _Malformed) else self._classify(exc)
                # Servers reject an unsupported response_format with 400, 422 or even 500 (llama-cpp-python).
                rejected_format = kind == "bad_request" or (kind == "retry" and "response_format" in str(exc))
                if rejected_format and request.schema is not None:
                    mode = self._next_schema_mode(params)
                    if mode is not None:
                        _apply_schema(params, request.schema, mode)
                        continue
                attempt = await self._backoff(exc, kind, attempt)

    async def _backoff(self, exc: Exception, kind: str, attempt: int) -> int:
        """Sleep before the next attempt and return its number, or raise when ``exc`` ends the request."""
        if kind != "retry" or attempt >= self.retries:
            raise self._error(exc, kind) from exc
        attempt += 1
        await asyncio.sleep(self._delay(attempt))
        return attempt

    def _next_schema_mode(self, params: dict[str, Any]) -> str | None:
        current = params.get("_schema_mode", _SCHEMA_MODES[0])
        i = _SCHEMA_MODES.index(current)
        if i + 1 >= len(_SCHEMA_MODES):
            return None
        self._schema_mode = _SCHEMA_MODES[i + 1]
        return self._schema_mode

    def _delay(self, attempt: int) -> float:
        return min(10.0, self.backoff * 2 ** (attempt - 1)) * (0.5 + random.random())

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop not in self._semaphores:
            self._semaphores[loop] = asyncio.Semaphore(self.max_concurrency)
        return self._semaphores[loop]

    def _error(self, exc: BaseException, kind: str) -> BaseException:
        if kind == "bug":
            return exc
        detail = f"{type(exc).__name__}: {str(exc)[:300]}"
        if kind == "retry":
            what = (f"kept failing after {self.retries + 1} attempts ({detail}). Is the server running and "
                    "healthy? Start it (e.g. `vllm serve MODEL` or `python -m llama_cpp.server --model FILE`) "
                    "or point --model at a running one.")
        elif kind == "stream_cut":
            what = (f"broke off a stream after sending text ({detail}); it was not retried, so no text is "
                    "repeated. Call again to get a whole answer.")
        elif kind == "bad_request" and _CONTEXT_REFUSAL.search(str(exc)):
            return ContextOverflowError(f"The model server at {self.where} says the prompt does not fit the "
                                        f"model's context ({detail}). Shorten the prompt or serve a larger window.")
        elif kind == "bad_request":
            what = f"rejected the request ({detail}). Check the model name and the generate() arguments."
        else:
            what = f"refused the request ({detail}). Check the URL, the model name and the API key."
        return ModelServerError(f"The model server at {self.where} {what}")


def _apply_schema(params: dict[str, Any], schema: dict[str, Any], mode: str) -> None:
    params["_schema_mode"] = mode  # removed before sending (see _wire)
    if mode == "json_schema":
        params["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema, "strict": True},
        }
    elif mode == "json_object+schema":
        # llama.cpp's servers turn a schema next to json_object into a grammar; others ignore it.
        params["response_format"] = {"type": "json_object", "schema": schema}
    else:
        params["response_format"] = {"type": "json_object"}
        # Plain JSON mode cannot carry the schema, so the prompt does; Completion.json() checks the result.
        hint = {"role": "system", "content": f"Reply with only a JSON value matching this JSON schema:\n{json.dumps(schema)}"}
        params["messages"] = [hint, *params["messages"]]


def wire(params: dict[str, Any]) -> dict[str, Any]:
    """The request body to send: ``params`` without agentkit's private keys."""
    return {k: v for k, v in params.items() if not k.startswith("_")}


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    raise _Malformed(f"expected a JSON object, got {type(obj).__name__}: {str(obj)[:120]!r}")


def _check_shape(response: Any) -> None:
    data = _as_dict(response)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise _Malformed(f"no choices in the response: {json.dumps(data, default=str)[:200]}")
    for c in choices:
        message = c.get("message") if isinstance(c, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("content"), str | None):
            raise _Malformed(f"a choice without a message: {json.dumps(c, default=str)[:200]}")


def _parse_response(response: Any) -> tuple[list[Choice], Usage]:
    data = _as_dict(response)
    choices = [Choice(c["message"].get("content") or "", _finish(c.get("finish_reason")), i, _logprobs(c))
               for i, c in enumerate(data["choices"])]
    return choices, _usage(data.get("usage") or {})


def _logprobs(choice: dict[str, Any]) -> tuple[dict[str, float], ...] | None:
    """OpenAI's ``logprobs.content[i].top_logprobs`` as one text → log-probability map per token."""
    content = (choice.get("logprobs") or {}).get("content")
    if not isinstance(content, list):
        return None
    out = []
    for token in content:
        alternatives = {t["token"]: float(t["logprob"]) for t in token.get("top_logprobs") or []}
        alternatives.setdefault(token.get("token", ""), float(token.get("logprob", 0.0)))
        out.append(alternatives)
    return tuple(out)


def _usage(u: dict[str, Any]) -> Usage:
    details = u.get("prompt_tokens_details") or {}
    return Usage(calls=1, prompt_tokens=int(u.get("prompt_tokens") or 0),
                 completion_tokens=int(u.get("completion_tokens") or 0),
                 cached_tokens=int(details.get("cached_tokens") or 0))


def _finish(reason: Any) -> FinishReason:
    return "length" if reason == "length" else "stop"
