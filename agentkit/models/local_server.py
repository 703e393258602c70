"""Start llama.cpp's own OpenAI-compatible server (llama-cpp-python's ``llama_cpp.server``) on 127.0.0.1.

A stand-in for ``vllm serve`` on machines without a GPU: tests and benchmarks talk to it through the
``openai`` backend. Needs the ``serving`` extra.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from agentkit.errors import ModelServerError

__all__ = ["llama_server", "stop_process"]


def stop_process(process: subprocess.Popen, *, timeout: float = 30) -> None:
    """Ask a server process to stop; kill it if it has not after ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def llama_server(model_path: str | Path, *, alias: str = "local", n_ctx: int = 2048, n_threads: int = 2,
                 startup_seconds: float = 120) -> Iterator[str]:
    """Serve ``model_path`` on a free local port; yields the base URL (``http://127.0.0.1:PORT/v1``).

    The server's log goes to ``<model dir>/server-PORT.log``; the process is stopped on exit.
    """
    port = _free_port()
    log_path = Path(model_path).parent / f"server-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentkit.models.llama_server_main", "--model", str(model_path), "--model_alias", alias,
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(n_threads)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + startup_seconds
            while True:
                try:
                    urllib.request.urlopen(f"{url}/models", timeout=2).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise ModelServerError(f"llama.cpp server did not start; see {log_path}. "
                                               "Is the serving extra installed (pip install 'agentkit[serving]')?") from None
                    time.sleep(0.5)
            yield url
        finally:
            stop_process(proc, timeout=20)
