"""``agentkit eval`` (agents or the reference policy on an environment's split) and ``agentkit report``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from agentkit.errors import BackendUnavailableError, UserError
from agentkit.options import literal, parse_pairs
from agentkit.paths import default_memory

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
    parser.add_argument("--env", required=True,
                        help="alfworld, textworld_express (twx), scienceworld (sciworld) or webshop")
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
    agent.add_argument("-w", "--workflow", default="react", help="an acting workflow (default: react)")
    agent.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                       help="workflow builder option, e.g. context_tokens=2500 (repeatable)")
    agent.add_argument("--max-steps", type=int, help="actions per episode (default: per environment)")
    agent.add_argument("--demos", action=argparse.BooleanOptionalAction, default=True,
                       help="show one expert demonstration of the same task type, played on the training split "
                            "(default: on)")
    agent.add_argument("-t", "--temperature", type=float, default=0.0, help="sampling temperature (default 0)")
    run = parser.add_argument_group("run")
    run.add_argument("-k", "--concurrency", type=int, default=1, help="episodes at once (default 1)")
    run.add_argument("--out", help="run folder (default runs/ENV-SPLIT-POLICY-TIME)")
    run.add_argument("--resume", action="store_true", help="continue the run in --out, skipping finished episodes")
    run.add_argument("--no-plot", dest="plot", action="store_false", help="skip the PNG plot")
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


def _config(args: argparse.Namespace, env_name: str, split: str, max_steps: int, tasks: list[str]) -> dict[str, Any]:
    agent = args.policy == "agent"
    return {"env": env_name, "split": split, "env_options": parse_pairs(args.env_option, "--env-option"),
            "policy": args.policy, "workflow": args.workflow if agent else None,
            "options": parse_pairs(args.option, "--option") if agent else {}, "model": args.model if agent else None,
            "max_steps": max_steps, "demos": args.demos and agent, "temperature": args.temperature,
            "concurrency": args.concurrency, "tasks": tasks, "memory": args.memory, "frozen": args.frozen}


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
    args.memory = args.memory or str(default_memory())
    return await _evaluate(args, learning=True)


async def _evaluate(args: argparse.Namespace, *, learning: bool) -> int:
    from agentkit.envs.eval import EpisodeLog, select_tasks
    from agentkit.envs.registry import make_env, options_of, resolve

    console = _console()
    env_name, spec = resolve(args.env)
    split = args.split or (spec.demo_split or spec.default_split if learning else spec.default_split)
    env_options = parse_pairs(args.env_option, "--env-option")
    if args.policy == "expert" and "expert" in options_of(env_name):
        env_options.setdefault("expert", "planner")
    every = getattr(args, "distill_every", None)
    for flag, value in (("--concurrency", args.concurrency), ("--limit", args.limit), ("--per-type", args.per_type),
                        ("--max-steps", args.max_steps), ("--distill-every", every)):
        if value is not None and value < 1:
            raise UserError(f"{flag} must be at least 1, not {value}.")
    if args.frozen and not args.memory:
        raise UserError("--frozen needs --memory PATH (the memory to read).")
    probe = make_env(env_name, split, **env_options)
    try:
        tasks = select_tasks(probe, limit=args.limit, per_type=args.per_type, tasks=args.tasks)
    finally:
        await probe.close()
    if not tasks:
        raise UserError(f"No episodes selected from {env_name} {split}; check --tasks/--limit/--per-type.")
    max_steps = args.max_steps or spec.max_steps
    config = _config(args, env_name, split, max_steps, tasks)
    policy = args.workflow if args.policy == "agent" else "expert"
    prefix = f"learn-{env_name}" if learning else env_name
    out = Path(args.out or f"runs/{prefix}-{split}-{policy}-{time.strftime('%Y%m%d-%H%M%S')}")
    log = EpisodeLog(out)
    done = log.start(config, resume=args.resume)
    async with _Player(args, config, env_name, out) as play:
        play.open_memory()
        if args.policy == "agent":
            await play.prepare(console, env_name, spec.demo_split, env_options)
        console.print(f"[dim]{env_name} {split} · {policy}{play.model_note} · {len(tasks)} episodes "
                      f"({len(done)} already done) · concurrency {args.concurrency} · {out}{play.memory_note}[/]",
                      highlight=False)
        chunks = [tasks[i:i + every] for i in range(0, len(tasks), every)] if learning and every else [tasks]
        for chunk in chunks:
            before = log.load()
            after = await _run_with_progress(console, lambda: make_env(env_name, split, **env_options), chunk, play,
                                             log, args.concurrency, before)
            if learning and len(after) > len(before):  # a resumed run does not distil finished chunks again
                await play.distill(console, env_name)
    wanted = set(tasks)
    records = [r for r in log.load() if r["task_id"] in wanted]
    _render(console, {out.name: records}, None if not args.plot else out / "success.png", title=str(out))
    return 0


async def _run_with_progress(console: Any, make: Any, tasks: list[str], play: Any, log: Any, concurrency: int,
                             done: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agentkit.envs.eval import evaluate

    finished = [r for r in done if r["task_id"] in set(tasks)]
    won = sum(bool(r.get("won")) for r in finished)
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
               TimeElapsedColumn()]

    def rate(won: int, total: int) -> str:
        return f"won {won}/{total} ({won / total:.0%})" if total else "won -"

    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("episodes", total=len(tasks), completed=len(finished), rate=rate(won, len(finished)))
        counts = {"won": won, "total": len(finished)}

        def on_record(record: dict[str, Any]) -> None:
            counts["won"] += bool(record.get("won"))
            counts["total"] += 1
            mark = "[red]error[/]" if record.get("error") else "[green]won[/]" if record.get("won") else "lost"
            progress.console.print(f"  {record['task_id']}: {mark} in {record.get('steps', 0)} steps, "
                                   f"{record.get('seconds', 0):.0f} s", highlight=False)
            progress.update(bar, advance=1, rate=rate(counts["won"], counts["total"]))

        return await evaluate(make, tasks, play, log, concurrency=concurrency, on_record=on_record)


class _Player:
    """Plays one episode: the workflow on the model (``--policy agent``) or the reference policy."""

    def __init__(self, args: argparse.Namespace, config: dict[str, Any], env_name: str, out: Path) -> None:
        self.args, self.config, self.env_name, self.out = args, config, env_name, out
        self.model: Any = None
        self.graph: Any = None
        self.memory: Any = None
        self.model_note = self.memory_note = ""

    async def __aenter__(self) -> _Player:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.model is not None:
            await self.model.aclose()
        if self.memory is not None:
            self.memory.close()

    def open_memory(self) -> None:
        if not self.args.memory:
            return
        from agentkit.memory.experience import Memory

        self.memory = Memory(self.args.memory, embedder=self.args.embedder, frozen=self.args.frozen)
        counts = self.memory.store.count()
        self.memory_note = f" · memory {self.args.memory} ({counts} records{', read-only' if self.args.frozen else ''})"

    async def distill(self, console: Any, env_name: str) -> None:
        """After learning episodes: concepts from where things were seen, and (with a model) insights."""
        from agentkit.memory import distill

        with console.status("Distilling the memory…"):
            concepts = await asyncio.to_thread(distill.location_concepts, self.memory, env=env_name)
            counts: dict[str, int] = {}
            if self.model is not None:
                counts = await distill.distill_insights(self.memory, self.model, env=env_name)
                concepts += len(await distill.distill_concepts(self.memory, self.model, env=env_name))
        done = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "no insight changes"
        console.print(f"[dim]memory: {concepts} concepts written; insights: {done}[/]", highlight=False)

    async def prepare(self, console: Any, env_name: str, demo_split: str | None, env_options: dict[str, Any]
                      ) -> None:
        from agentkit.models.registry import load_model
        from agentkit.workflows.registry import build_workflow

        options: dict[str, Any] = {"max_steps": self.config["max_steps"]}
        for key, value in self.config["options"].items():
            options[key] = literal(value)
        if self.config["demos"] and demo_split is not None:
            options["demos"] = await self._demos(console, env_name, demo_split, env_options)
        if "reflect" in self.args and not self.args.reflect:
            options["reflect"] = False
        self.graph = build_workflow(self.args.workflow, **options)
        self.model = load_model(self.args.model)
        with console.status(f"Loading {self.model.name}…"):
            await self.model.load()
        self.model_note = f" · model {self.model.name}"

    async def _demos(self, console: Any, env_name: str, split: str, env_options: dict[str, Any]) -> dict[str, str]:
        from agentkit.envs.demos import expert_demos
        from agentkit.envs.registry import make_env, options_of

        path = self.out / "demos.json"
        if path.exists():
            return json.loads(path.read_text())
        options = dict(env_options)
        if "expert" in options_of(env_name):  # the explorer: its demos search as the agent must (and fast)
            options.setdefault("expert", "handcoded")
        env = make_env(env_name, split, **options)
        try:
            with console.status(f"Playing the expert on {env_name} {split} for demonstrations…"):
                demos = await expert_demos(env)
        finally:
            await env.close()
        path.write_text(json.dumps(demos, indent=1))
        return demos

    async def __call__(self, env: Any, task_id: str) -> dict[str, Any]:
        if self.graph is None:
            return await self._expert(env, task_id)
        from agentkit.context import RunContext

        ctx = RunContext(self.model, temperature=self.args.temperature, env=env, memory=self.memory)
        state = await self.graph.ainvoke({"task_id": task_id}, context=ctx)
        usage = ctx.spent
        steps = state.get("steps", [])
        return {"task": state.get("question"), "opening": state.get("opening"), "won": bool(state.get("won")), "reward": state.get("reward", 0.0),
                "steps": len(steps), "stop_reason": state.get("stop_reason"), "calls": usage.calls,
                "tokens": {"prompt": usage.prompt_tokens, "cached": usage.cached_tokens,
                           "completion": usage.completion_tokens, "total": usage.total_tokens},
                "model": self.model.name, "workflow": self.args.workflow, "memory_ids": state.get("memory_ids"),
                "trajectory": [{"thought": s["thought"], "action": s["action"], "observation": s["observation"],
                                "valid": s["valid"]} for s in steps]}

    async def _expert(self, env: Any, task_id: str) -> dict[str, Any]:
        from agentkit.envs.demos import run_expert

        run = await run_expert(env, task_id, max_steps=self.config["max_steps"])
        record = {"task": run.task, "won": run.won, "reward": 1.0 if run.won else 0.0, "steps": len(run.steps),
                  "policy": "expert", "transcript": run.transcript}
        if self.memory is not None and not self.memory.frozen:
            from agentkit.memory.records import TrajectoryRecord

            trajectory = TrajectoryRecord(task=run.task, opening=run.opening, env=env.name, task_type=env.task_type(task_id),
                                          task_id=task_id, steps=run.steps, won=run.won, reward=record["reward"],
                                          workflow="expert", source="expert")
            record["memory_ids"] = [await self.memory.aadd(trajectory)]
        return record


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
