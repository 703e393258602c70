"""``agentkit eval`` (agents or the reference policy on an environment's split) and ``agentkit report``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agentkit.errors import BackendUnavailableError, UserError
from agentkit.options import parse_pairs

__all__ = ["EVAL_EXAMPLES", "LEARN_EXAMPLES", "REPORT_EXAMPLES", "add_eval_arguments", "add_learn_arguments",
           "add_report_arguments", "eval_command", "learn_command", "report_command"]

EVAL_EXAMPLES = """examples:
  agentkit eval --env alfworld --per-type 1 --max-steps 20          # 6 games, one per task type
  agentkit eval --env alfworld --split eval_in_distribution --per-type 4 --concurrency 2 --out runs/alf24
  agentkit eval --env alfworld --out runs/alf24 --per-type 4 --resume  # continue a killed run
  agentkit eval --env twx --env-option games=coin,arithmetic --limit 40 --per-type 20
  agentkit eval --env scienceworld --env-option tasks=find-living-thing --limit 3
  agentkit eval --env alfworld --policy expert --out runs/alf-expert   # the engine's expert on all 140 games
  agentkit eval --env webshop --env-option url=http://127.0.0.1:3000 --limit 10
  agentkit eval --env twx --env-option games=coin --per-type 20 --memory mem/coin --frozen  # read a memory
  agentkit eval --task gsm8k --workflow sc --option n=8 --limit 50 --concurrency 2  # GSM8K's held-out problems
  agentkit eval --task 'gsm8k?shots=4' --tasks train-0600 train-0601 --max-calls 4
  agentkit eval --task gsm8k --design examples/designs/gsm8k-debate.yaml --limit 20
  agentkit eval --env twx --env-option games=simonsays --design examples/designs/twx-react-critic.yaml --limit 10
"""

LEARN_EXAMPLES = """examples:
  agentkit learn --env alfworld --policy expert --per-type 5 --memory mem/alf     # seed from demonstrations
  agentkit learn --env twx --env-option games=coin --per-type 20 --memory mem/coin --distill-every 10
  agentkit eval --env twx --env-option games=coin --per-type 20 --memory mem/coin --frozen
"""

REPORT_EXAMPLES = """examples:
  agentkit report runs/alf24                   # re-render one run's table and plot
  agentkit report runs/plain runs/with-demos   # compare runs side by side
"""


def add_eval_arguments(parser: argparse.ArgumentParser, *, learning: bool = False) -> None:
    parser.add_argument("--env", help="alfworld, textworld_express (twx), scienceworld (sciworld) or webshop")
    if not learning:
        parser.add_argument("--task", help="instead of --env, a reasoning task whose held-out problems are the "
                                           "episodes: gsm8k, arithmetic, game24 (options: 'gsm8k?shots=4&split=test')")
    parser.add_argument("--split", help="the environment's split (default: its "
                                        f"{'training' if learning else 'evaluation'} split)")
    parser.add_argument("--env-option", action="append", default=[], metavar="KEY=VALUE",
                        help="environment option, e.g. games=coin,arithmetic; data=PATH; url=URL (repeatable)")
    pick = parser.add_argument_group("which episodes")
    pick.add_argument("--per-type", type=int, help="the first N tasks of each task type")
    pick.add_argument("--limit", type=int, help="at most N episodes")
    pick.add_argument("--tasks", nargs="+", metavar="ID", help="these task ids")
    agent = parser.add_argument_group("agent")
    agent.add_argument("--policy", choices=["agent", "expert"], default="agent",
                       help="agent: the workflow on the model; expert: the environment's reference policy")
    agent.add_argument("--design", metavar="FILE", help="an agent design (YAML/JSON): it sets the workflow, its "
                                                        "options, prompts, demonstrations, sampling and budget")
    agent.add_argument("-w", "--workflow", help="an acting workflow (default: react); with --task a reasoning "
                                                "workflow (default: cot)")
    agent.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                       help="workflow builder option, e.g. context_tokens=2500 (repeatable)")
    agent.add_argument("--max-steps", type=int, help="actions per episode (default: per environment)")
    agent.add_argument("--demos", action=argparse.BooleanOptionalAction, default=None,
                       help="show one expert demonstration of the same task type, played on the training split "
                            "(default: on)")
    agent.add_argument("-t", "--temperature", type=float, help="sampling temperature (default 0)")
    agent.add_argument("--max-tokens", type=int, help="generation limit per model call (default 512)")
    budget = parser.add_argument_group("budget (per episode; it stops cleanly and says why)")
    budget.add_argument("--max-calls", type=int, help="model calls at most")
    budget.add_argument("--max-total-tokens", type=int, help="prompt + completion tokens at most")
    budget.add_argument("--time-limit", type=float, help="seconds at most")
    run = parser.add_argument_group("run")
    run.add_argument("-k", "--concurrency", type=int, default=1, help="episodes at once (default 1)")
    run.add_argument("--out", help="run folder (default runs/ENV-SPLIT-POLICY-TIME)")
    run.add_argument("--resume", action="store_true", help="continue the run in --out, skipping finished episodes")
    run.add_argument("--no-plot", dest="plot", action="store_false", help="skip the PNG plot")
    run.add_argument("--executor", choices=("local", "ray"), default="local",
                     help="where episodes play: this process (default) or Ray actors (pip install 'agentkit[ray]')")
    run.add_argument("--ray-address", metavar="HOST:PORT",
                     help="a running Ray cluster (`ray start --head` prints it; default: start a local one)")
    memory = parser.add_argument_group("experience memory")
    memory.add_argument("--memory", metavar="PATH", help="a memory folder the agent recalls from and records into")
    memory.add_argument("--frozen", action="store_true", help="read the memory only: record nothing")
    memory.add_argument("--embedder", help="sentence-transformers model for the memory (default all-MiniLM-L6-v2)")


def add_learn_arguments(parser: argparse.ArgumentParser) -> None:
    add_eval_arguments(parser, learning=True)
    group = parser.add_argument_group("learning")
    group.add_argument("--distill-every", type=int, metavar="N",
                       help="distil insights and concepts after every N episodes (default: once, at the end)")
    group.add_argument("--no-reflect", dest="reflect", action="store_false",
                       help="no reflection after a failed episode")


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", help="run folders (or their episodes.jsonl files)")
    parser.add_argument("--plot", help="PNG path (default: success.png in the first run folder, or compare.png)")
    parser.add_argument("--no-plot", dest="no_plot", action="store_true", help="tables only")


#: EvalConfig's fields by the flags that set them, so its errors read as this command's.
FLAGS = {"env": "--env", "task": "--task", "split": "--split", "env_options": "--env-option", "tasks": "--tasks", "limit": "--limit",
         "per_type": "--per-type", "policy": "--policy", "workflow": "--workflow", "options": "--option",
         "model": "--model", "temperature": "--temperature", "max_steps": "--max-steps",
         "concurrency": "--concurrency", "memory": "--memory", "frozen": "--frozen", "embedder": "--embedder",
         "demos": "--demos", "distill_every": "--distill-every", "max_tokens": "--max-tokens",
         "budget.calls": "--max-calls", "budget.tokens": "--max-total-tokens", "budget.seconds": "--time-limit"}


def _config(args: argparse.Namespace, *, learning: bool) -> Any:
    from agentkit.experiments import EvalConfig

    budget = {key: value for key, value in (("calls", args.max_calls), ("tokens", args.max_total_tokens),
                                            ("seconds", args.time_limit)) if value is not None}
    if getattr(args, "design", None):
        return _design_config(args, budget, learning=learning)
    return EvalConfig(  # for the expert, EvalConfig drops what it does not use (workflow, options, model, demos)
        env=args.env, task=getattr(args, "task", None), max_tokens=args.max_tokens, budget=budget, split=args.split, env_options=parse_pairs(args.env_option, "--env-option"), tasks=args.tasks,
        limit=args.limit, per_type=args.per_type, policy=args.policy, workflow=args.workflow,
        options=parse_pairs(args.option, "--option"), model=args.model,
        temperature=args.temperature if args.temperature is not None else 0.0, max_steps=args.max_steps,
        concurrency=args.concurrency, memory=args.memory, frozen=args.frozen, embedder=args.embedder,
        demos=args.demos is not False, learn=learning, distill_every=getattr(args, "distill_every", None),
        reflect=getattr(args, "reflect", True))


def _design_config(args: argparse.Namespace, budget: dict[str, Any], *, learning: bool) -> Any:
    """The run of ``--design`` on the target the flags name; flags the design sets are refused."""
    import dataclasses

    from agentkit.experiments.designs import load_design

    given = [flag for flag, value in (("--workflow", args.workflow), ("--option", args.option),
                                      ("--temperature", args.temperature), ("--max-tokens", args.max_tokens),
                                      ("--demos/--no-demos", args.demos), ("--policy expert", args.policy == "expert"),
                                      ("learn", learning)) if value]
    if given:
        raise UserError(f"--design sets the agent; drop {', '.join(given)} (or edit the design).")
    config = load_design(args.design).eval_config(
        task=getattr(args, "task", None), env=args.env, split=args.split,
        env_options=parse_pairs(args.env_option, "--env-option"), tasks=args.tasks, limit=args.limit,
        per_type=args.per_type, model=args.model, max_steps=args.max_steps, concurrency=args.concurrency,
        memory=args.memory, frozen=args.frozen, embedder=args.embedder)
    return dataclasses.replace(config, budget={**config.budget, **budget}) if budget else config


def _console() -> Any:
    """A console for the tables: a terminal's own width, 120 columns in logs and pipes (rich's 80 would cut
    the task types short)."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 120)


async def eval_command(args: argparse.Namespace) -> int:
    return await _evaluate(args, learning=False)


async def learn_command(args: argparse.Namespace) -> int:
    if args.frozen:
        raise UserError("learn writes to the memory; drop --frozen (use `agentkit eval --frozen` to evaluate).")
    return await _evaluate(args, learning=True)


async def _evaluate(args: argparse.Namespace, *, learning: bool) -> int:
    """Parse the flags into an EvalConfig, run it with a live view, then show the table and the plot."""
    from agentkit.experiments import ConfigError, run_eval
    from agentkit.experiments.executors import get_executor

    console = _console()
    view = _EvalView(console)
    executor = get_executor(getattr(args, "executor", "local"), address=getattr(args, "ray_address", None))
    try:
        config = _config(args, learning=learning)
        result = await run_eval(config, out=args.out, resume=args.resume, on_record=view.record,
                                on_event=view.event, executor=executor)
    except ConfigError as e:
        raise e.named(FLAGS) from None
    finally:
        view.close()
        executor.close()
    records = [r.to_json() for r in result.records]
    _render(console, {result.out.name: records}, None if not args.plot else result.out / "success.png",
            title=str(result.out))
    return 0


class _EvalView:
    """The terminal's view of a run: a spinner during each phase, the run's header, a progress bar with one
    line per finished episode, the distillation's summary."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self.status: Any = None
        self.progress: Any = None
        self.bar: Any = None
        self.total = self.finished = self.won = 0

    def event(self, task_id: str | None, event: Any) -> None:
        from rich.markup import escape

        from agentkit.events import describe
        from agentkit.experiments import Distilled, EpisodeStarted, Phase, PhaseDone, RunStarted

        match event:
            case Phase(text=text):
                self._stop_progress()
                self.status = self.console.status(escape(text))
                self.status.start()
            case PhaseDone():
                self._stop_status()
            case Distilled():
                self.console.print(f"[dim]{escape(describe(event))}[/]", highlight=False)
            case RunStarted():
                self.total, self.finished, self.won = event.episodes, event.finished, event.won
                self.console.print(f"[dim]{escape(describe(event))}[/]", highlight=False)
                self._start_progress()
            case EpisodeStarted() if self.progress is None:
                self._start_progress()

    def record(self, record: Any) -> None:
        from rich.markup import escape

        from agentkit.events import describe
        from agentkit.experiments import EpisodeFinished

        self.finished += 1
        self.won += bool(record.won)
        style = "red" if record.error else "green" if record.won else ""
        line = escape(f"  {describe(EpisodeFinished(record))}")
        printer = self.progress.console if self.progress is not None else self.console
        printer.print(f"[{style}]{line}[/]" if style else line, highlight=False)
        if self.progress is not None:
            self.progress.update(self.bar, completed=self.finished, rate=self._rate())

    def _rate(self) -> str:
        return f"won {self.won}/{self.finished} ({self.won / self.finished:.0%})" if self.finished else "won -"

    def _start_progress(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._stop_status()
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeElapsedColumn()]
        self.progress = Progress(*columns, console=self.console, transient=False)
        self.bar = self.progress.add_task("episodes", total=self.total, completed=self.finished, rate=self._rate())
        self.progress.start()

    def _stop_progress(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def _stop_status(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None

    def close(self) -> None:
        self._stop_progress()
        self._stop_status()


def _load_run(path: str) -> tuple[str, list[dict[str, Any]]]:
    from agentkit.envs.eval import EpisodeLog

    folder = Path(path)
    if folder.name == "episodes.jsonl":
        folder = folder.parent
    log = EpisodeLog(folder)
    if not log.path.exists():
        raise UserError(f"No {log.path}: give a run folder made by `agentkit eval --out`.")
    return folder.name, log.load()


def _render(console: Any, runs: dict[str, list[dict[str, Any]]], plot_path: Path | None, title: str = "") -> None:
    from agentkit.envs.report import comparison_table, plot, run_table

    for name, records in runs.items():
        console.print(run_table(records, title=title or name))
    if len(runs) > 1:
        console.print(comparison_table(runs))
    if plot_path is not None and any(runs.values()):
        try:
            console.print(f"[dim]plot: {plot(runs, plot_path)}[/]", highlight=False)
        except BackendUnavailableError as e:
            console.print(f"[yellow]no plot:[/] {e}", highlight=False)


async def report_command(args: argparse.Namespace) -> int:
    runs: dict[str, list[dict[str, Any]]] = {}
    for path in args.runs:
        name, records = _load_run(path)
        runs[name if name not in runs else path] = records
    first = Path(args.runs[0])
    first = first.parent if first.name == "episodes.jsonl" else first
    default = first / ("success.png" if len(runs) == 1 else "compare.png")
    _render(_console(), runs, None if args.no_plot else Path(args.plot or default))
    return 0
