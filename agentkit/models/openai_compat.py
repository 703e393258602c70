"""Any OpenAI-compatible chat server through the official ``openai`` client.

``vllm serve``, llama.cpp's server, ``python -m llama_cpp.server``, Ollama (``/v1``) and hosted APIs all
speak this protocol. Spec: ``openai:URL#MODEL`` (``#MODEL`` optional where the server serves one model).

Example:
    >>> model = load_model("openai:http://127.0.0.1:8000/v1#qwen?max_concurrency=8")  # doctest: +SKIP
    >>> model.generate_sync("Say hi", n=4, temperature=0.8).texts  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import AsyncIterator
from typing import Any

from agentkit.errors import UserError
from agentkit.models.remote import RemoteChatModel, wire
from agentkit.optional import require

__all__ = ["OpenAICompatModel", "classify_openai_error"]


class OpenAICompatModel(RemoteChatModel):
    """A chat model behind an OpenAI-compatible HTTP API.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1``.
        model: the served model's name (``default`` if the server does not care).
        api_key: defaults to ``$OPENAI_API_KEY``, else a placeholder local servers accept.
        client: an already-built ``openai.AsyncOpenAI`` to use instead of creating one.
        **options: see ``RemoteChatModel`` (max_concurrency, timeout, retries, backoff, native_n).
    """

    backend = "openai"

    def __init__(self, base_url: str, model: str = "default", *, api_key: str | None = None,
                 client: Any = None, max_concurrency: int = 4, timeout: float = 120.0, retries: int = 3,
                 backoff: float = 0.5, native_n: bool | None = None, name: str | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise UserError(f"openai backend needs an http(s) URL, got {base_url!r}: e.g. openai:http://127.0.0.1:8000/v1#MODEL")
        super().__init__(model, max_concurrency=max_concurrency, timeout=timeout, retries=retries,
                         backoff=backoff, native_n=native_n, name=name or f"{model}@{base_url}")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
        self._client = client
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    @classmethod
    def from_spec(cls, target: str, **options: Any) -> OpenAICompatModel:
        url, _, model = target.partition("#")
        return cls(url, model or "default", **options)

    @property
    def where(self) -> str:
        return self.base_url

    def setup(self) -> None:
        require("openai", what="The openai backend", needs="the openai client", extra="agentkit[serving]")

    def _client_for_loop(self) -> Any:
        """One client per event loop: an httpx pool must not outlive the loop it was made on."""
        if self._client is not None:
            return self._client
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            import openai

            # Retries are ours (per request, never repeating finished work), so the client's are off.
            self._clients[loop] = openai.AsyncOpenAI(base_url=self.base_url, api_key=self.api_key,
                                                     timeout=self.timeout, max_retries=0)
        return self._clients[loop]

    async def _create(self, params: dict[str, Any]) -> Any:
        return await self._client_for_loop().chat.completions.create(**wire(params))

    async def _create_stream(self, params: dict[str, Any]) -> AsyncIterator[Any]:
        stream = await self._client_for_loop().chat.completions.create(**wire(params))
        async for chunk in stream:
            yield chunk

    def _classify(self, exc: BaseException) -> str:
        return classify_openai_error(exc)

    async def aclose(self) -> None:
        for client in list(self._clients.values()):
            await client.close()
        self._clients.clear()


def classify_openai_error(exc: BaseException) -> str:
    """Sort an openai-client (or litellm, whose errors subclass them) exception for the retry loop."""
    import openai

    if isinstance(exc, openai.APIConnectionError):  # includes timeouts
        return "retry"
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status >= 500 or status in (408, 409, 429):
            return "retry"
        return "bad_request" if status in (400, 422) else "fatal"
    if isinstance(exc, openai.APIResponseValidationError | ValueError):  # a 2xx body that is not JSON
        return "retry"
    return "bug"
