"""Real model and real server fixtures for the integration tests (the tiny embedded model, 0.5B)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server_url(tiny_path, require):
    """llama.cpp's OpenAI-compatible server (llama-cpp-python's) on 127.0.0.1, a stand-in for `vllm serve`."""
    require("uvicorn")
    port = _free_port()
    log = open(tiny_path.parent / f"server-{port}.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(tiny_path), "--model_alias", "qwen-0.5b",
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.close()
                pytest.fail(f"llama.cpp server did not start: see {log.name}")
            time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
