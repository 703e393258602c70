"""Any provider litellm routes to: ``litellm:PROVIDER/MODEL`` (``ollama/qwen2.5``, ``hosted_vllm/...``).

Example:
    >>> model = load_model("litellm:ollama/qwen2.5-coder:1.5b?api_base=http://127.0.0.1:11434")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

from agentkit.models.openai_compat import classify_openai_error
from agentkit.models.remote import RemoteChatModel, wire
from agentkit.optional import require

__all__ = ["LiteLLMModel"]


class LiteLLMModel(RemoteChatModel):
    """A chat model reached through ``litellm.acompletion``.

    Args:
        model: litellm's ``provider/model`` name.
        api_base: the server URL, where the provider needs one.
        api_key: passed through to litellm.
        **options: see ``RemoteChatModel`` (max_concurrency, timeout, retries, backoff, native_n).
    """

    backend = "litellm"

    def __init__(self, model: str, *, api_base: str | None = None, api_key: str | None = None,
                 max_concurrency: int = 4, timeout: float = 120.0, retries: int = 3, backoff: float = 0.5,
                 native_n: bool | None = None, name: str | None = None) -> None:
        super().__init__(model, max_concurrency=max_concurrency, timeout=timeout, retries=retries,
                         backoff=backoff, native_n=native_n, name=name)
        self.api_base = api_base
        self.api_key = api_key
        self._litellm: Any = None

    @property
    def where(self) -> str:
        return self.api_base or f"litellm's {self.model.split('/')[0]} provider"

    def setup(self) -> None:
        # Use the cost map shipped in the package rather than fetching it at import (no internet here).
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        self._litellm = require("litellm", what="The litellm backend", needs="litellm", extra="agentkit[serving]")

    def _call_options(self) -> dict[str, Any]:
        extra = {"api_base": self.api_base, "api_key": self.api_key}
        return {"timeout": self.timeout, "num_retries": 0, **{k: v for k, v in extra.items() if v}}

    async def _create(self, params: dict[str, Any]) -> Any:
        return await self._litellm.acompletion(**wire(params), **self._call_options())

    async def _create_stream(self, params: dict[str, Any]) -> AsyncIterator[Any]:
        stream = await self._litellm.acompletion(**wire(params), **self._call_options())
        async for chunk in stream:
            yield chunk

    def _classify(self, exc: BaseException) -> str:
        return classify_openai_error(exc)
