"""The ``agentkit`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from agentkit import __version__
from agentkit.errors import AgentkitError, UserError
from agentkit.models.usage import Usage, track_usage

__all__ = ["main"]

_RUN_EXAMPLES = """examples:
  agentkit run "A train leaves at 9:40 and arrives at 11:15. How long is the trip?"
  agentkit run "What is 17 * 23?" --model qwen-0.5b --max-tokens 256
  agentkit run "Name a prime above 100." --model openai:http://127.0.0.1:8000/v1#qwen
  AGENTKIT_MODEL=llamacpp:/models/my.gguf agentkit run "..." --json
"""

_MODELS_EXAMPLES = """examples:
  agentkit models                      # the known models and whether they are installed
  agentkit models qwen-0.5b            # resolve, load and time the tiny embedded model
  agentkit models openai:http://127.0.0.1:8000/v1#qwen --no-check
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 runtime failure, 2 misuse, 130 interrupted)."""
    args = _parser().parse_args(argv)
    from rich.console import Console

    err = Console(stderr=True)
    try:
        return asyncio.run(args.handler(args))
    except UserError as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False)
        return 2
    except AgentkitError as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False)
        return 1
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentkit", description="Agentic, memory-augmented reasoning with local models.",
        epilog="Run `agentkit COMMAND --help` for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"agentkit {__version__}")
    sub = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    fmt = argparse.RawDescriptionHelpFormatter

    run = sub.add_parser("run", help="answer one question through a workflow", epilog=_RUN_EXAMPLES,
                         formatter_class=fmt, description="Answer one question through a reasoning workflow.")
    run.add_argument("question", help="the question to answer")
    _add_model_flag(run)
    run.add_argument("--workflow", default="cot", help="workflow name or module:function (default: cot)")
    run.add_argument("--max-tokens", type=int, default=512, help="generation limit per model call (default: 512)")
    run.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default: 0, greedy)")
    run.add_argument("--json", action="store_true", help="print the final state and usage as JSON, nothing else")
    run.set_defaults(handler=_run)

    models = sub.add_parser("models", help="list known models, or resolve and check one", epilog=_MODELS_EXAMPLES,
                            formatter_class=fmt, description="List known models, or resolve, load and time one.")
    models.add_argument("spec", nargs="?", help="a model spec to resolve and check")
    models.add_argument("--no-check", dest="check", action="store_false",
                        help="resolve only; do not load the model or time it")
    models.set_defaults(handler=_models)
    return parser


def _add_model_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", default=None,
                        help="model spec (default: $AGENTKIT_MODEL, else qwen-1.5b); see `agentkit models`")


async def _run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.panel import Panel

    from agentkit.context import RunContext
    from agentkit.events import Answer, Token
    from agentkit.models.registry import load_model
    from agentkit.workflows.registry import get_builder

    console = Console(quiet=args.json)
    model = load_model(args.model)
    graph = get_builder(args.workflow)()
    with console.status(f"Loading {model.name}…"):
        await model.load()
    console.print(f"[dim]model {model.name} ({model.backend}) · workflow {args.workflow}[/]")
    ctx = RunContext(model, temperature=args.temperature, max_tokens=args.max_tokens)
    state: dict[str, Any] = {}
    try:
        with track_usage() as meter:
            async for mode, chunk in graph.astream({"question": args.question}, context=ctx,
                                                   stream_mode=["custom", "values"]):
                if mode == "values":
                    state = chunk
                elif isinstance(chunk, Token):
                    console.print(chunk.text, end="", style="dim", highlight=False, markup=False)
                elif isinstance(chunk, Answer):
                    console.print()
                    if chunk.text is not None:
                        console.print(Panel(chunk.text, title="Answer", border_style="green", expand=False))
                    else:
                        console.print(f"[yellow]No answer:[/] {chunk.reason}")
    finally:
        await model.aclose()
    if args.json:
        print(json.dumps({"state": state, "usage": _usage_dict(meter.usage)}, default=str))
    else:
        console.print(_usage_table(meter.usage))
    return 0


async def _models(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console()
    if args.spec is None:
        console.print(_known_models_table())
        return 0
    from agentkit.models.registry import load_model, parse_spec

    spec = parse_spec(args.spec)
    model = load_model(spec)
    console.print(f"spec     {args.spec}\nbackend  {spec.backend}\ntarget   {spec.target}", highlight=False)
    if spec.backend == "llamacpp":
        from agentkit.models.bundled import resolve_gguf

        with console.status("Resolving the model file…"):
            path = resolve_gguf(spec.target)
        console.print(f"file     {path} ({path.stat().st_size:,} bytes)", highlight=False)
    if not args.check:
        return 0
    started = time.perf_counter()
    with console.status(f"Loading {model.name}…"):
        await model.load()
    console.print(f"loaded   in {time.perf_counter() - started:.1f} s", highlight=False)
    started, first = time.perf_counter(), None
    with track_usage() as meter:
        async for _ in model.stream("Count from 1 to 40, separated by spaces.", max_tokens=48):
            first = first or time.perf_counter()
    ended, usage = time.perf_counter(), meter.usage
    ttft = (first or ended) - started
    rate = (usage.completion_tokens - 1) / (ended - first) if first and ended > first else 0.0
    console.print(f"speed    {rate:.1f} tokens/s generation; first token after {ttft:.2f} s "
                  f"({usage.prompt_tokens} prompt tokens)", highlight=False)
    await model.aclose()
    return 0


def _known_models_table() -> Any:
    from rich.markup import escape
    from rich.table import Table

    from agentkit.models.bundled import BUNDLED, DEFAULT_BUNDLED, cache_dir, installed_parts
    from agentkit.models.registry import SPEC_FORMS

    table = Table(title="Embedded models", caption=f"Other models: {SPEC_FORMS}")
    for column in ("name", "model", "size", "for", "status"):
        table.add_column(column)
    for m in BUNDLED.values():
        cached = (cache_dir() / "models" / m.filename).is_file()
        parts, _ = installed_parts(m)
        status = ("[green]ready[/] (cached)" if cached else "[green]installed[/] (joined on first use)"
                  if len(parts) == m.parts else f"[yellow]not installed[/]: {escape(m.install_hint)}")
        name = f"{m.name} (default)" if m.name == DEFAULT_BUNDLED else m.name
        table.add_row(name, m.title, f"{m.size / 1e9:.2f} GB", m.use, status)
    return table


def _usage_dict(usage: Usage) -> dict[str, Any]:
    return {"calls": usage.calls, "prompt_tokens": usage.prompt_tokens, "cached_tokens": usage.cached_tokens,
            "completion_tokens": usage.completion_tokens, "seconds": round(usage.seconds, 3)}


def _usage_table(usage: Usage) -> Any:
    from rich.table import Table

    table = Table(title="Usage", title_justify="left")
    for column in ("calls", "prompt tokens", "cached", "completion tokens", "seconds", "tokens/s"):
        table.add_column(column, justify="right")
    rate = usage.completion_tokens / usage.seconds if usage.seconds else 0.0
    table.add_row(str(usage.calls), str(usage.prompt_tokens), str(usage.cached_tokens),
                  str(usage.completion_tokens), f"{usage.seconds:.2f}", f"{rate:.1f}")
    return table


if __name__ == "__main__":
    sys.exit(main())
