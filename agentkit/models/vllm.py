"""vLLM in-process on a GPU: ``vllm:HF_ID`` (e.g. ``vllm:Qwen/Qwen2.5-Coder-7B-Instruct``).

Uses vLLM's async engine with prefix caching on, so agent prompts that grow turn by turn reuse their KV
blocks; ``n`` is native (one request, n sequences); a schema becomes vLLM's structured (guided) JSON output.
The request mapping (``sampling_kwargs``) is plain Python, so it is tested without vLLM installed.

To serve one model to many processes instead, run ``vllm serve HF_ID`` and use ``openai:URL#HF_ID``.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

from agentkit.errors import BackendUnavailableError
from agentkit.models.base import Choice, Completion, Delta, GenerateRequest, Model
from agentkit.models.usage import Usage
from agentkit.optional import require

__all__ = ["VLLMModel", "build_sampling_params", "chat_prompt", "output_logprobs", "sampling_kwargs"]

_ids = itertools.count()


def sampling_kwargs(request: GenerateRequest) -> dict[str, Any]:
    """Map a request to ``vllm.SamplingParams`` keyword arguments (``json_schema`` is resolved later).

    Example:
        >>> from agentkit.models.base import GenerateRequest
        >>> sampling_kwargs(GenerateRequest(({"role": "user", "content": "hi"},), n=3, seed=7))["n"]
        3
    """
    kwargs: dict[str, Any] = {
        "n": request.n,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_tokens": request.max_tokens,
        "stop": list(request.stop),
        "seed": request.seed,
    }
    if request.logprobs:
        kwargs["logprobs"] = request.logprobs
    if request.schema is not None:
        kwargs["json_schema"] = request.schema
    return kwargs


def build_sampling_params(vllm: Any, kwargs: dict[str, Any]) -> Any:
    """Build ``SamplingParams``, using whichever structured-output API this vLLM has.

    vLLM ≥ 0.10 takes ``structured_outputs=StructuredOutputsParams(json=...)``; older releases took
    ``guided_decoding=GuidedDecodingParams(json=...)`` (removed in 0.12).
    """
    kwargs = dict(kwargs)
    schema = kwargs.pop("json_schema", None)
    if schema is not None:
        module = vllm.sampling_params
        if hasattr(module, "StructuredOutputsParams"):
            kwargs["structured_outputs"] = module.StructuredOutputsParams(json=schema)
        else:
            kwargs["guided_decoding"] = module.GuidedDecodingParams(json=schema)
    return vllm.SamplingParams(**kwargs)


class VLLMModel(Model):
    """vLLM's async engine in this process.

    Args:
        model: a Hugging Face model id or local folder.
        max_model_len: context length to reserve.
        gpu_memory_utilization: share of GPU memory vLLM may take.
        tensor_parallel_size: GPUs to shard over.
        engine: an already-built ``AsyncLLMEngine`` (or compatible) to use instead of creating one.
    """

    backend = "vllm"

    def __init__(self, model: str, *, max_model_len: int = 8192, gpu_memory_utilization: float = 0.85,
                 tensor_parallel_size: int = 1, engine: Any = None, name: str | None = None) -> None:
        super().__init__(name=name or model)
        self.model = model
        self.engine_options = {
            "model": model,
            "max_model_len": max_model_len,
            "gpu_memory_utilization": gpu_memory_utilization,
            "tensor_parallel_size": tensor_parallel_size,
            "enable_prefix_caching": True,
        }
        self._engine = engine
        self._vllm: Any = None
        self._tokenizer: Any = None

    def setup(self) -> None:
        vllm = require("vllm", what="The vllm backend", needs="vLLM and an NVIDIA GPU", extra="agentkit[vllm]",
                       hint="on a GPU machine. Without a GPU use the embedded model (--model qwen-1.5b) or a served "
                            "one (openai:URL#MODEL).")
        self._vllm = vllm
        if self._engine is None:
            import torch

            if not torch.cuda.is_available():
                raise BackendUnavailableError(
                    "vLLM is installed but no CUDA GPU is visible. Run on a GPU machine, or use the embedded "
                    "model (--model qwen-1.5b) or an OpenAI-compatible server (openai:URL#MODEL)."
                )
            args = vllm.AsyncEngineArgs(**self.engine_options)
            self._engine = vllm.AsyncLLMEngine.from_engine_args(args)

    async def _prompt(self, request: GenerateRequest) -> str:
        if self._tokenizer is None:
            self._tokenizer = await self._engine.get_tokenizer()
        return chat_prompt(self._tokenizer, request)

    async def _final_output(self, request: GenerateRequest) -> AsyncIterator[Any]:
        params = build_sampling_params(self._vllm, sampling_kwargs(request))
        async for output in self._engine.generate(await self._prompt(request), params, f"agentkit-{next(_ids)}"):
            yield output

    async def _generate(self, request: GenerateRequest) -> Completion:
        final = None
        async for final in self._final_output(request):
            pass
        assert final is not None, "vLLM returned no output"
        choices = tuple(Choice(o.text, "length" if o.finish_reason == "length" else "stop", i, output_logprobs(o))
                        for i, o in enumerate(final.outputs))
        return Completion(choices, _usage(final))

    async def _stream(self, request: GenerateRequest) -> AsyncIterator[Delta]:
        sent, final = 0, None
        async for final in self._final_output(request):
            text = final.outputs[0].text  # cumulative
            if len(text) > sent:
                yield Delta(text[sent:])
                sent = len(text)
        if final is not None:
            reason = final.outputs[0].finish_reason
            yield Delta("", "length" if reason == "length" else "stop", _usage(final))


def chat_prompt(tokenizer: Any, request: GenerateRequest) -> str:
    """The chat rendered with the model's template; a last assistant message is continued, not closed."""
    messages = list(request.messages)
    if len(messages) > 1 and messages[-1]["role"] == "assistant":
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False,
                                             continue_final_message=True)
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def output_logprobs(output: Any) -> tuple[dict[str, float], ...] | None:
    """vLLM's per-token ``{token_id: Logprob(logprob, decoded_token)}`` maps as text → log-probability."""
    if not getattr(output, "logprobs", None):
        return None
    return tuple({(lp.decoded_token if lp.decoded_token is not None else str(token)): float(lp.logprob)
                  for token, lp in step.items()} for step in output.logprobs)


def _usage(output: Any) -> Usage:
    cached = getattr(output, "num_cached_tokens", None) or 0
    return Usage(calls=1, prompt_tokens=len(output.prompt_token_ids or ()),
                 completion_tokens=sum(len(o.token_ids) for o in output.outputs), cached_tokens=cached)
