"""The ``agentkit`` command."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from typing import Any

from agentkit import __version__
from agentkit.cli import eval as cli_eval, memory as cli_memory, run as cli_run, search as cli_search, serve as cli_serve, tui as cli_tui
from agentkit.errors import AgentkitError, UserError
from agentkit.models.usage import track_usage

__all__ = ["main"]

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

    commands = [  # name, help, examples, description, arguments, handler, takes --model
        ("run", "answer a question (or a task's problems) through a workflow", cli_run.EXAMPLES,
         "Answer a question, or a task's problems, through a reasoning workflow.", cli_run.add_run_arguments,
         cli_run.run_command, True),
        ("eval", "run an agent (or the expert) on an environment's episodes", cli_eval.EVAL_EXAMPLES,
         "Run episodes K at a time; one JSONL line per finished episode; --resume continues a killed run; ends "
         "with a table and a plot.", cli_eval.add_eval_arguments, cli_eval.eval_command, True),
        ("learn", "gather experience into a memory (the agent, or the expert's demonstrations)",
         cli_eval.LEARN_EXAMPLES, "Play episodes (on the training split by default) and record every one in the "
         "experience memory, with reflections on failures; then distil insights and concepts. Resumable like eval.",
         cli_eval.add_learn_arguments, cli_eval.learn_command, True),
        ("memory", "inspect, search, export/import and prune an experience memory", cli_memory.MEMORY_EXAMPLES,
         "Look into and tidy an experience memory.", cli_memory.add_memory_arguments, cli_memory.memory_command,
         True),
        ("search", "evolve agent designs on a target (or report a search)", cli_search.SEARCH_EXAMPLES,
         "Search agent designs (prompts, modules, roles, parameters) on a target's search and validation "
         "episodes; every episode is cached, so a killed search resumes and nothing is paid twice.",
         cli_search.add_search_arguments, cli_search.search_command, True),
        ("tui", "chat in the terminal UI: any workflow, its reasoning live, what memory recalled",
         cli_tui.EXAMPLES, "Chat with a model through a workflow in a Textual app; conversations are kept.",
         cli_tui.add_tui_arguments, cli_tui.tui_command, True),
        ("serve", "start a local batching model server (llama.cpp's, N slots; or vllm serve)", cli_serve.EXAMPLES,
         "Serve a model over the OpenAI protocol with N requests at once; prints the spec to use; Ctrl+C stops "
         "it.", cli_serve.add_serve_arguments, cli_serve.serve_command, False),
        ("report", "tables and plots from eval runs, one or several compared", cli_eval.REPORT_EXAMPLES,
         "Re-render eval runs from their episodes.jsonl; compare several.", cli_eval.add_report_arguments,
         cli_eval.report_command, False),
    ]
    for name, summary, examples, description, add_arguments, handler, takes_model in commands:
        command = sub.add_parser(name, help=summary, epilog=examples, formatter_class=fmt, description=description)
        if takes_model:
            _add_model_flag(command)
        add_arguments(command)
        command.set_defaults(handler=handler)

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

    from agentkit.models.bundled import BUNDLED, DEFAULT_BUNDLED, installed_parts
    from agentkit.paths import cache_dir
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

