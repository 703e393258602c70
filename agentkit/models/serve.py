"""Batching model servers, managed: ``agentkit serve SPEC --parallel N``.

A GGUF (the embedded models, ``llamacpp:PATH``) is served by llama.cpp's own server, in this process,
through the ``xllamacpp`` wheel: N slots with continuous batching, each slot keeping its own KV prefix, so
N concurrent episodes stop evicting each other's prompt cache. ``vllm:HF_ID`` runs ``vllm serve`` (a GPU
machine) with N concurrent sequences. Either way the server is healthy before its ``openai:`` spec is
printed, and Ctrl+C stops it.

Example:
    >>> plan = plan_server("vllm:Qwen/Qwen2.5-7B-Instruct", parallel=8, port=8000)
    >>> vllm_command(plan)[:3], plan.spec
    (['vllm', 'serve', 'Qwen/Qwen2.5-7B-Instruct'], 'openai:http://127.0.0.1:8000/v1#Qwen2.5-7B-Instruct')
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from agentkit.errors import ModelServerError, UserError
from agentkit.models.local_server import stop_process

__all__ = ["ServePlan", "plan_server", "serving_model", "vllm_command"]


@dataclass(frozen=True)
class ServePlan:
    """What ``agentkit serve`` starts: ``engine`` (``llamacpp`` or ``vllm``), the ``model`` (a GGUF path or a
    Hugging Face id), where it listens, ``parallel`` slots or sequences, context per slot, CPU threads."""

    engine: str
    model: str
    alias: str
    host: str = "127.0.0.1"
    port: int = 8000
    parallel: int = 1
    ctx: int = 4096
    threads: int | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def spec(self) -> str:
        """The model spec to give agentkit (``--model``) for this server."""
        return f"openai:{self.url}#{self.alias}"


def plan_server(spec: str, *, parallel: int = 1, host: str = "127.0.0.1", port: int = 8000, ctx: int = 4096,
                threads: int | None = None, alias: str | None = None) -> ServePlan:
    """Resolve ``spec`` (an embedded model, ``llamacpp:PATH.gguf`` or ``vllm:HF_ID``) into what to start."""
    from agentkit.models.registry import parse_spec

    if parallel < 1 or ctx < 256 or not 0 < port < 65536:
        raise UserError(f"--parallel must be at least 1 (got {parallel}), --ctx at least 256 (got {ctx}), --port "
                        f"between 1 and 65535 (got {port}).")
    parsed = parse_spec(spec)
    if parsed.backend == "vllm":
        return ServePlan("vllm", parsed.target, alias or parsed.target.rsplit("/", 1)[-1], host, port, parallel, ctx,
                         threads)
    if parsed.backend != "llamacpp":
        raise UserError(f"agentkit serve starts a server for a GGUF (qwen-1.5b, llamacpp:PATH.gguf) or a vLLM "
                        f"model (vllm:HF_ID); {spec!r} is already a {parsed.backend} model.")
    from agentkit.models.bundled import BUNDLED, resolve_gguf

    path = resolve_gguf(parsed.target)
    name = parsed.target if parsed.target in BUNDLED else os.path.splitext(os.path.basename(str(path)))[0]
    return ServePlan("llamacpp", str(path), alias or name, host, port, parallel, ctx, threads)


def vllm_command(plan: ServePlan) -> list[str]:
    """``vllm serve`` with the plan's sequences, context and name (vLLM's documented CLI flags), and its
    automatic prefix caching asked for, so each episode's prompt stays cached between its steps."""
    return ["vllm", "serve", plan.model, "--host", plan.host, "--port", str(plan.port),
            "--max-num-seqs", str(plan.parallel), "--max-model-len", str(plan.ctx),
            "--served-model-name", plan.alias, "--enable-prefix-caching"]


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def serving_model(plan: ServePlan, *, startup_seconds: float = 600) -> Iterator[ServePlan]:
    """Start the plan's server, wait until it answers, yield the plan; stop the server on exit."""
    if not _port_free(plan.host, plan.port):
        raise UserError(f"Port {plan.port} on {plan.host} is in use; pick another with --port.")
    if plan.engine == "vllm":
        with _vllm(plan, startup_seconds):
            yield plan
        return
    with _llamacpp(plan):
        yield plan


@contextlib.contextmanager
def _llamacpp(plan: ServePlan) -> Iterator[None]:
    try:
        import xllamacpp
    except ImportError:
        raise UserError("Serving a GGUF needs llama.cpp's server: pip install 'agentkit[serving]' (the "
                        "xllamacpp wheel).") from None
    params = xllamacpp.CommonParams()
    params.model.path = plan.model
    params.model_alias = {plan.alias}
    params.hostnames = [plan.host]
    params.port = plan.port
    params.n_parallel = plan.parallel
    params.n_ctx = plan.ctx * plan.parallel  # the server divides its context among the slots
    params.cont_batching = True
    threads = plan.threads or os.cpu_count() or 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    try:
        server = xllamacpp.Server(params)
    except Exception as e:  # the library's own errors: a bad file, too little memory
        size = os.path.getsize(plan.model) if os.path.exists(plan.model) else 0
        raise ModelServerError(f"llama.cpp's server did not start on {plan.model} ({size:,} bytes): {e} Its log "
                               "above says why; a file that is truncated or not a GGUF must be downloaded again, "
                               "and a model too big for memory needs a smaller --ctx or --parallel.") from e
    try:
        if not _healthy(plan.url):
            raise ModelServerError(f"llama.cpp's server started but does not answer at {plan.url}.")
        yield
    finally:
        del server  # its destructor stops the HTTP loop and frees the model


@contextlib.contextmanager
def _vllm(plan: ServePlan, startup_seconds: float) -> Iterator[None]:
    if shutil.which("vllm") is None:
        raise UserError("vllm is not installed here: pip install vllm on a machine with a GPU (it does not run "
                        "on CPU only).")
    process = subprocess.Popen(vllm_command(plan))
    try:
        deadline = time.monotonic() + startup_seconds
        while not _healthy(plan.url):
            if process.poll() is not None:
                raise ModelServerError(f"vllm serve exited with code {process.returncode} before it answered "
                                       "(its log is above).")
            if time.monotonic() > deadline:
                raise ModelServerError(f"vllm serve did not answer at {plan.url} within {startup_seconds:.0f} s.")
            time.sleep(1)
        yield
    finally:
        stop_process(process)
