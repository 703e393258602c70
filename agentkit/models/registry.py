"""Model spec strings → backends.

Specs:
    ``qwen-1.5b``, ``qwen-0.5b``           bundled embedded models (llama.cpp in-process)
    ``llamacpp:PATH.gguf``                  any GGUF file (or ``llamacpp:qwen-0.5b``)
    ``openai:URL#MODEL``                    an OpenAI-compatible server (vllm serve, llama.cpp server, Ollama)
    ``vllm:HF_ID``                          vLLM in-process on a GPU
    ``litellm:PROVIDER/MODEL``              anything litellm routes to
    ``scripted:TEXT``                       a fake model that always answers TEXT

Backend options follow a ``?``: ``qwen-1.5b?n_ctx=8192&n_threads=2``,
``openai:http://127.0.0.1:8000/v1#qwen?max_concurrency=8``.
"""

from __future__ import annotations

import importlib
import inspect
import os
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from agentkit.errors import UserError
from agentkit.models.base import Model
from agentkit.options import convert_option
from agentkit.models.bundled import BUNDLED, DEFAULT_BUNDLED

__all__ = ["BACKENDS", "DEFAULT_MODEL", "ModelSpec", "default_spec", "load_model", "parse_spec"]

DEFAULT_MODEL = DEFAULT_BUNDLED
ENV_VAR = "AGENTKIT_MODEL"

BACKENDS: dict[str, str] = {
    "llamacpp": "agentkit.models.llamacpp:LlamaCppModel",
    "openai": "agentkit.models.openai_compat:OpenAICompatModel",
    "litellm": "agentkit.models.litellm:LiteLLMModel",
    "vllm": "agentkit.models.vllm:VLLMModel",
    "scripted": "agentkit.models.testing:ScriptedModel",
}

SPEC_FORMS = (
    "qwen-1.5b | qwen-0.5b | llamacpp:PATH.gguf | openai:URL#MODEL | vllm:HF_ID | "
    "litellm:PROVIDER/MODEL | scripted:TEXT"
)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A parsed model spec: which backend, what it loads, and backend options."""

    backend: str
    target: str
    options: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        opts = "&".join(f"{k}={v}" for k, v in self.options.items())
        return f"{self.backend}:{self.target}" + (f"?{opts}" if opts else "")


def default_spec() -> str:
    """The spec used when none is given: ``$AGENTKIT_MODEL``, else the default embedded model."""
    return os.environ.get(ENV_VAR) or DEFAULT_MODEL


def parse_spec(spec: str) -> ModelSpec:
    """Parse a model spec string.

    Example:
        >>> parse_spec("openai:http://127.0.0.1:8000/v1#qwen?timeout=30")
        ModelSpec(backend='openai', target='http://127.0.0.1:8000/v1#qwen', options={'timeout': '30'})
        >>> parse_spec("qwen-0.5b").backend
        'llamacpp'
    """
    spec = spec.strip()
    head, _, query = spec.partition("?")
    options: dict[str, str] = {}
    for pair in filter(None, query.split("&")):
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise UserError(f"Bad option {pair!r} in model spec {spec!r}: write options as ?key=value&key2=value2.")
        options[key] = value
    backend, colon, target = head.partition(":")
    if colon and backend in BACKENDS:
        if not target and backend != "scripted":
            raise UserError(f"Model spec {spec!r} names the {backend} backend but nothing to load. Forms: {SPEC_FORMS}")
        return ModelSpec(backend, target, options)
    if head in BUNDLED or head.endswith(".gguf") or (head and os.path.isfile(head)):
        return ModelSpec("llamacpp", head, options)
    raise UserError(
        f"Unknown model spec {spec!r}. Use one of: {SPEC_FORMS}. `agentkit models` lists the known models; "
        f"set a default with --model or ${ENV_VAR}."
    )


def load_model(spec: str | ModelSpec | Model | None = None, **options: Any) -> Model:
    """Build a model from a spec (nothing heavy is loaded until its first call).

    Args:
        spec: a spec string, a parsed spec, or a ready model (returned as is). ``None`` means
            ``$AGENTKIT_MODEL`` or the default embedded model.
        **options: backend constructor options; they override options given in the spec string.

    Example:
        >>> load_model("scripted:hello").generate_sync("hi").text
        'hello'
    """
    if isinstance(spec, Model):
        return spec
    parsed = spec if isinstance(spec, ModelSpec) else parse_spec(spec or default_spec())
    module_name, _, class_name = BACKENDS[parsed.backend].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    merged = {**_coerce_options(cls, parsed), **options}
    return cls.from_spec(parsed.target, **merged)


def _coerce_options(cls: type, spec: ModelSpec) -> dict[str, Any]:
    """Convert ``?key=value`` strings to the types the backend's constructor declares."""
    params = inspect.signature(cls.__init__).parameters
    hints = get_type_hints(cls.__init__)
    accepted = sorted(p for p, v in params.items() if v.kind is v.KEYWORD_ONLY)
    out: dict[str, Any] = {}
    for key, raw in spec.options.items():
        if key not in accepted:
            raise UserError(f"The {spec.backend} backend has no option {key!r}. Options: {', '.join(accepted)}.")
        out[key] = convert_option(raw, hints.get(key), key)
    return out
