"""Real model and real server fixtures for the integration tests (the tiny embedded model, 0.5B)."""

from __future__ import annotations

import pytest

from agentkit.models.bundled import resolve_gguf
from agentkit.models.llamacpp import LlamaCppModel


@pytest.fixture(scope="session")
def tiny_path(require):
    require("llama_cpp")
    return resolve_gguf("qwen-0.5b")


@pytest.fixture(scope="session")
def tiny(tiny_path):
    """The tiny embedded model, loaded once for the session (2 threads, 2048-token context)."""
    return LlamaCppModel(str(tiny_path), n_ctx=2048, name="qwen-0.5b")


@pytest.fixture(scope="session")
def server_url(tiny_path, require):
    """llama.cpp's OpenAI-compatible server (llama-cpp-python's) on 127.0.0.1, a stand-in for `vllm serve`."""
    require("uvicorn")
    from agentkit.models.local_server import llama_server

    with llama_server(tiny_path, alias="qwen-0.5b") as url:
        yield url
