"""``agentkit run``: one question, or a task's problems, through a workflow, printing its events."""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from typing import Any

from agentkit.errors import UserError
from agentkit.models.usage import Usage
from agentkit.options import literal, parse_pairs

__all__ = ["add_run_arguments", "run_command"]

EXAMPLES = """examples:
  agentkit run "A train leaves at 9:40 and arrives at 11:15. How long is the trip?"
  agentkit run "What is 17 * 23?" --workflow react
  agentkit run "What is 17 * 23?" --workflow sc --n 5 --model qwen-0.5b
  agentkit run --task game24 "4 9 10 13" --workflow tot --algo beam --width 3
  agentkit run --task game24 --limit 5 --workflow mcts --iterations 8 --max-calls 60
  agentkit run --task arithmetic --limit 3 --workflow reflexion --trials 2
  agentkit run --task gsm8k --workflow sc --n 8 --limit 20
  agentkit run --task gsm8k --workflow best-of-n --n 8 --verifier prm:http://127.0.0.1:8000#Qwen/Qwen2.5-Math-PRM-7B
  agentkit run --task gsm8k --workflow tot --algo beam --width 2 --k 2 --verifier task --aggregate min
  agentkit run --task gsm8k --problem train-0600 --design examples/designs/gsm8k-debate.yaml
  agentkit run "..." --workflow mypkg.flows:build --option rounds=2
  agentkit run --task game24 --limit 3 --workflow tot --checkpoint runs/ck.sqlite --thread t1   # rerun to resume
  AGENTKIT_MODEL=openai:http://127.0.0.1:8000/v1#qwen agentkit run "..." --json
"""

#: CLI flag → builder option, for the options several workflows share.
_OPTIONS = ("algo", "n", "k", "breadth", "width", "threshold", "iterations", "generation", "judging",
            "n_evaluate", "verifier", "aggregate", "weighted", "keep", "refine_rounds", "max_trials", "max_steps",
            "max_depth")


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("question", nargs="?", help="the question (with --task game24: the four numbers)")
    run.add_argument("--workflow", default=None,
                     help="cot, sc, best-of-n, react, reflexion, tot, got, mcts, planned, debate, or "
                          "module:function (default: cot)")
    run.add_argument("--design", metavar="FILE", help="an agent design (YAML/JSON): it sets the workflow, its "
                                                      "options, prompts, sampling and budget")
    run.add_argument("--task", default=None, help="qa (default), game24, arithmetic or gsm8k; task options follow a ?: "
                     "'gsm8k?shots=4&split=test' (GSM8K's files come from $GSM8K_DATA)")
    run.add_argument("--limit", type=int, default=None, help="with --task and no question: run this many problems")
    run.add_argument("--problem", default=None, help="with --task: run the problem with this id")
    run.add_argument("--max-tokens", type=int, default=512, help="generation limit per model call (default: 512)")
    run.add_argument("--temperature", type=float, default=0.0, help="temperature of single answers (default: 0)")
    search = run.add_argument_group("workflow options (each workflow takes some of them)")
    search.add_argument("--algo", choices=["bfs", "dfs", "beam", "mcts"], help="tot: the search algorithm")
    search.add_argument("--n", type=int, help="sc, best-of-n: samples")
    search.add_argument("--k", type=int, help="tot, mcts: actions proposed per expansion; got: first thoughts")
    search.add_argument("--breadth", type=int, help="tot bfs: states kept per level")
    search.add_argument("--width", type=int, help="tot beam: beam width")
    search.add_argument("--threshold", type=float, help="tot dfs: prune children valued under this")
    search.add_argument("--depth", dest="max_depth", type=int, help="tot, mcts: steps at most")
    search.add_argument("--iterations", type=int, help="mcts: rounds")
    search.add_argument("--generation", choices=["propose", "sample"], help="tot, mcts: how steps are made")
    search.add_argument("--judging", choices=["value", "vote"], help="tot, mcts: how states are judged")
    search.add_argument("--n-evaluate", type=int, help="tot, mcts: samples per value or vote")
    search.add_argument("--verifier", metavar="task|llm|prm:URL#MODEL|auto",
                        help="best-of-n, got, reflexion: scores candidates; tot, mcts: values steps instead of the "
                             "model's ratings (task: the task's check; llm: the model's P(Yes) per step; prm: a "
                             "process reward model served by vLLM)")
    search.add_argument("--aggregate", choices=["last", "min", "prod", "mean"],
                        help="best-of-n: step scores to a solution score; tot beam: path ranking (mean|min|last)")
    search.add_argument("--weighted", action="store_true", default=None,
                        help="best-of-n: the answer whose candidates' scores sum highest wins")
    search.add_argument("--keep", type=int, help="got: thoughts kept and aggregated")
    search.add_argument("--refine-rounds", type=int, help="got: refinements at most")
    search.add_argument("--trials", dest="max_trials", type=int, help="reflexion: trials at most")
    search.add_argument("--max-steps", type=int, help="react: actions at most")
    search.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="any other builder option (for your own workflows); repeatable")
    budget = run.add_argument_group("budget (per problem; the run stops cleanly and says why)")
    budget.add_argument("--max-calls", type=int, help="model calls at most")
    budget.add_argument("--max-total-tokens", type=int, help="prompt + completion tokens at most")
    budget.add_argument("--time-limit", type=float, help="seconds at most")
    ck = run.add_argument_group("checkpointing")
    ck.add_argument("--checkpoint", help="SQLite file for checkpoints; an interrupted run resumes on rerun")
    ck.add_argument("--thread", default="run", help="checkpoint thread name (default: run)")
    run.add_argument("--json", action="store_true", help="print the final state(s) and usage as JSON, nothing else")
    run.add_argument("-v", "--verbose", action="store_true", help="also print node start/end and full thoughts")


def _builder_options(args: argparse.Namespace, task: Any) -> dict[str, Any]:
    options: dict[str, Any] = {name: getattr(args, name) for name in _OPTIONS}
    if args.task is not None:
        options["task"] = task
    options.update({k: literal(v) for k, v in parse_pairs(args.option, "--option").items()})
    return options


def _budget(args: argparse.Namespace) -> dict[str, Any]:
    given = {"calls": args.max_calls, "tokens": args.max_total_tokens, "seconds": args.time_limit}
    return {k: v for k, v in given.items() if v is not None}


def _design(args: argparse.Namespace) -> tuple[Any, str]:
    """The run's settings from ``--design`` (as an ``EvalConfig``) and its task spec; flags the design sets
    are refused rather than silently ignored."""
    from agentkit.experiments.designs import load_design

    given = [f"--{name.replace('_', '-')}" for name in ("workflow", *_OPTIONS) if getattr(args, name) is not None]
    given += ["--option"] if args.option else []
    given += ["--temperature"] if args.temperature else []
    if given:
        raise UserError(f"--design sets the workflow and its options; drop {', '.join(given)} (or edit the design).")
    config = load_design(args.design).eval_config(task=args.task or "qa")
    return config, str(config.task)


def _problems(task: Any, args: argparse.Namespace) -> list[Any]:
    if args.question is not None:
        return [task.problem(args.question)]
    if task.name == "qa":
        raise UserError("Give a question, or a task with --task game24|arithmetic|gsm8k.")
    problems = task.problems()
    if args.problem is not None:
        found = task.find(args.problem)
        if found is None:
            raise UserError(f"Task {task.name} has no problem {args.problem!r}; ids run from {problems[0].id} "
                            f"to {problems[-1].id}.")
        return [found]
    count = 1 if args.limit is None else args.limit
    if not 1 <= count <= len(problems):
        raise UserError(f"--limit must be between 1 and {len(problems)} for task {task.name}, not {count}.")
    sample = getattr(task, "sample", None)
    return sample(count) if sample else problems[:count]


async def run_command(args: argparse.Namespace) -> int:
    from rich.console import Console

    from agentkit.cli.render import usage_table
    from agentkit.context import RunContext
    from agentkit.limits import Limits
    from agentkit.models.registry import load_model
    from agentkit.runtime import open_checkpointer
    from agentkit.workflows.registry import build_workflow
    from agentkit.workflows.tasks import get_task

    console = Console(quiet=args.json)
    prompts: dict[str, Any] = {}
    if args.design:
        config, task_spec = _design(args)
        task = get_task(task_spec)
        args.workflow = config.workflow
        options = {**config.builder_options(), "task": task}
        prompts = dict(config.prompts)
        limits = Limits(**{**config.budget, **_budget(args)})
        args.temperature, args.max_tokens = config.temperature, config.max_tokens or args.max_tokens
    else:
        task = get_task(args.task)
        args.workflow = args.workflow or "cot"
        limits = Limits(**_budget(args))
        options = _builder_options(args, task)
    problems = _problems(task, args)
    model = load_model(args.model)
    results: list[dict[str, Any]] = []
    async with contextlib.AsyncExitStack() as stack:
        if args.checkpoint:
            options["checkpointer"] = await stack.enter_async_context(open_checkpointer(args.checkpoint))
        graph = build_workflow(args.workflow, **options)
        with console.status(f"Loading {model.name}…"):
            await model.load()
        stack.push_async_callback(model.aclose)
        console.print(f"[dim]model {model.name} ({model.backend}) · workflow {args.workflow} · task {task.name}[/]")
        stack.callback(_report_unfinished, console, results, len(problems))
        for i, problem in enumerate(problems, 1):
            if len(problems) > 1:
                console.rule(f"[{i}/{len(problems)}] {problem.id}: {problem.question}")
            ctx = RunContext(model, temperature=args.temperature, max_tokens=args.max_tokens, limits=limits,
                             prompts=prompts)
            thread = f"{args.thread}/{problem.id}" if args.checkpoint else None
            clock = time.perf_counter()
            state = await _stream(console, graph, {"question": problem.question}, ctx, thread, args.verbose)
            correct = task.score(problem, state.get("answer"))
            if correct is not None:
                console.print("[green]✓ correct[/]" if correct else
                              f"[red]✗ wrong[/] [dim](a reference answer: {problem.reference})[/]", highlight=False)
            results.append({"problem": problem.id, "question": problem.question, "state": state,
                            "correct": correct, "usage": ctx.spent, "wall": time.perf_counter() - clock})
    total = sum((r["usage"] for r in results), Usage())
    wall = sum(r["wall"] for r in results)
    if args.json:
        runs = [{**{k: v for k, v in r.items() if k != "wall"}, "usage": _usage_dict(r["usage"], r["wall"])}
                for r in results]
        out = runs[0] if len(runs) == 1 else {"runs": runs, "usage": _usage_dict(total, wall)}
        print(json.dumps(out, default=str))
        return 0
    if len(results) > 1:
        console.print(_summary_table(results))
    console.print(usage_table(total, wall))
    return 0


async def _stream(console: Any, graph: Any, inputs: dict[str, Any], ctx: Any, thread: str | None,
                  verbose: bool) -> dict[str, Any]:
    from agentkit.cli.render import EventPrinter
    from agentkit.events import Done
    from agentkit.runtime import stream_run

    show, state = EventPrinter(console, verbose=verbose), {}
    async for event in stream_run(graph, inputs, ctx, thread_id=thread):
        show(event)
        if isinstance(event, Done):
            state = event.state
    return state


def _report_unfinished(console: Any, results: list[dict[str, Any]], planned: int) -> None:
    """When a run dies part-way, still show the problems that finished (they were also printed as they ran)."""
    if 0 < len(results) < planned:
        console.print(f"[yellow]{len(results)} of {planned} problems finished before the run stopped:[/]")
        console.print(_summary_table(results))


def _summary_table(results: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    scored = [r for r in results if r["correct"] is not None]
    wins = sum(bool(r["correct"]) for r in scored)
    caption = f"solved {wins} of {len(scored)} ({wins / len(scored):.0%})" if scored else None
    table = Table(title="Problems", title_justify="left", caption=caption, caption_justify="left")
    for column in ("problem", "answer", "correct", "calls", "tokens", "seconds", "stopped because"):
        table.add_column(column, justify="right" if column in ("calls", "tokens", "seconds") else "left")
    for r in results:
        u: Usage = r["usage"]
        mark = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[r["correct"]]
        table.add_row(r["problem"], str(r["state"].get("answer")), mark, str(u.calls), str(u.total_tokens),
                      f"{r['wall']:.1f}", str(r["state"].get("stop_reason") or ""))
    return table


def _usage_dict(usage: Usage, wall: float) -> dict[str, Any]:
    """``seconds`` is the calls' summed waits (they overlap when a workflow calls concurrently); ``wall_seconds``
    the clock time."""
    return {"calls": usage.calls, "prompt_tokens": usage.prompt_tokens, "cached_tokens": usage.cached_tokens,
            "completion_tokens": usage.completion_tokens, "seconds": round(usage.seconds, 3),
            "wall_seconds": round(wall, 3)}
