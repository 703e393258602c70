"""``agentkit serve``: a local batching model server, healthy before its spec is printed, stopped by Ctrl+C."""

from __future__ import annotations

import argparse
import asyncio

EXAMPLES = """examples:
  agentkit serve qwen-1.5b --parallel 4 --port 8000       # llama.cpp's server, 4 slots, continuous batching
  agentkit eval --env twx --concurrency 4 --model openai:http://127.0.0.1:8000/v1#qwen-1.5b
  agentkit serve vllm:Qwen/Qwen2.5-7B-Instruct --parallel 64  # vllm serve, on a GPU machine
"""


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="an embedded model (qwen-1.5b), llamacpp:PATH.gguf, or vllm:HF_ID")
    parser.add_argument("-n", "--parallel", type=int, default=1,
                        help="requests served at once: llama.cpp slots, or vLLM's sequences (default 1)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--ctx", type=int, default=4096, help="context tokens per slot (default 4096)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: all; never run two servers that "
                                                    "each use all of them on one machine)")
    parser.add_argument("--alias", help="the model name clients use (default: the model's)")


async def serve_command(args: argparse.Namespace) -> int:
    from rich.console import Console

    from agentkit.models.serve import plan_server, serving_model

    console = Console()
    plan = plan_server(args.spec, parallel=args.parallel, host=args.host, port=args.port, ctx=args.ctx,
                       threads=args.threads, alias=args.alias)
    what = f"{plan.model} with {plan.parallel} slot{'s' if plan.parallel != 1 else ''}"
    with console.status(f"Starting {plan.engine}'s server for {what}…"):
        server = serving_model(plan)
        server.__enter__()
    try:
        console.print(f"Serving {what} at {plan.url}", highlight=False)
        console.print(f"model spec: [bold]{plan.spec}[/]   (Ctrl+C stops it)", highlight=False)
        console.file.flush()
        await asyncio.Event().wait()
    finally:
        server.__exit__(None, None, None)
        console.print("server stopped", highlight=False)
    return 0
