"""Game of 24 with the embedded model: which workflow wins, at what cost, and what the graph runtime costs.

Prints, from one run:
  1. per workflow (CoT, SC@k, ToT-BFS, ToT-beam, MCTS) on the same fixed puzzle sample: puzzles solved
     (checked by the exact verifier), model calls, tokens and wall time;
  2. graph runtime overhead: the share of each run's wall time when no model call was in flight (graph
     scheduling, state copies, parsing, events) — goal < 2 %;
  3. one ToT expansion of breadth 5 (five value evaluations) against llama.cpp's OpenAI-compatible server
     on 127.0.0.1, issued concurrently vs one after another.

Usage:
    python benchmarks/workflows_game24.py                       # qwen-1.5b, 4 puzzles
    python benchmarks/workflows_game24.py --puzzles 10 --only cot sc
    python benchmarks/workflows_game24.py --model qwen-0.5b --puzzles 2 --no-server
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from agentkit.context import RunContext
from agentkit.limits import Limits
from agentkit.models.base import Model
from agentkit.models.registry import load_model
from agentkit.runtime import run
from agentkit.workflows.registry import build_workflow
from agentkit.workflows.tasks.game24 import Game24Task

#: The workflows compared, as (label, workflow, options).
CONFIGS: list[tuple[str, str, dict[str, Any]]] = [
    ("CoT", "cot", {}),
    ("SC@5", "sc", {"n": 5}),
    ("ToT-BFS b=3 k=5", "tot", {"algo": "bfs", "breadth": 3, "k": 5}),
    ("ToT-beam w=2 k=4", "tot", {"algo": "beam", "width": 2, "k": 4}),
    ("MCTS 6 it. k=3", "mcts", {"iterations": 6, "k": 3}),
]
KEYS = {"cot": "CoT", "sc": "SC@5", "bfs": "ToT-BFS b=3 k=5", "beam": "ToT-beam w=2 k=4", "mcts": "MCTS 6 it. k=3"}


class BusyClock:
    """Records when at least one model call is in flight, to separate model time from everything else."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.busy = 0.0
        self._since = 0.0

    def enter(self) -> None:
        if self.in_flight == 0:
            self._since = time.perf_counter()
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self.busy += time.perf_counter() - self._since


def instrument(model: Model, clock: BusyClock) -> None:
    """Wrap the model's public calls so ``clock`` sees each one."""
    generate, stream = model.generate, model.stream

    async def timed_generate(*args: Any, **kwargs: Any) -> Any:
        clock.enter()
        try:
            return await generate(*args, **kwargs)
        finally:
            clock.leave()

    async def timed_stream(*args: Any, **kwargs: Any) -> AsyncIterator[str]:
        clock.enter()
        try:
            async for piece in stream(*args, **kwargs):
                yield piece
        finally:
            clock.leave()

    model.generate = timed_generate  # type: ignore[method-assign]
    model.stream = timed_stream  # type: ignore[method-assign]


@dataclass
class Row:
    label: str
    solved: int = 0
    runs: int = 0
    calls: int = 0
    tokens: int = 0
    seconds: float = 0.0
    idle: float = 0.0


async def compare(model: Model, puzzles: list[Any], configs: list[tuple[str, str, dict[str, Any]]],
                  limits: Limits, console: Console) -> list[Row]:
    task = Game24Task()
    clock = BusyClock()
    instrument(model, clock)
    rows = []
    for label, workflow, options in configs:
        graph = build_workflow(workflow, task=task, **options)
        row = Row(label)
        for p in puzzles:
            ctx = RunContext(model, max_tokens=384, limits=limits)
            busy0, started = clock.busy, time.perf_counter()
            state = await run(graph, {"question": p.question}, ctx)
            wall = time.perf_counter() - started
            ok = task.score(p, state.get("answer"))
            row.runs += 1
            row.solved += ok
            row.calls += ctx.spent.calls
            row.tokens += ctx.spent.total_tokens
            row.seconds += wall
            row.idle += wall - (clock.busy - busy0)
            console.print(f"{label:18} {p.question:12} {'solved' if ok else 'failed':6} {state.get('answer')!s:28} "
                          f"{ctx.spent.calls:3} calls {wall:6.1f} s  {state.get('stop_reason') or ''}", highlight=False)
        rows.append(row)
    return rows


async def expansion_concurrency(model_path: str, console: Console) -> tuple[float, float]:
    """One breadth-5 ToT expansion's value calls, concurrent vs sequential, through the openai backend."""
    from agentkit.models.local_server import llama_server
    from agentkit.models.openai_compat import OpenAICompatModel
    from agentkit.workflows.tasks.game24_search import Game24Config, Game24World

    task = Game24Task()
    world = Game24World([4, 9, 10, 13])
    root = world.init_state()
    children = [world.step(root, a) for a in ["13 - 9 = 4", "10 - 4 = 6", "4 + 9 = 13", "13 - 10 = 3", "9 + 10 = 19"]]
    config = Game24Config(task)
    with llama_server(model_path, alias="bench") as url:
        model = OpenAICompatModel(url, model="bench", max_concurrency=8)
        ctx = RunContext(model, max_tokens=128)
        await config.evaluate(ctx, root, children[:1])  # warm the server's cache of the shared prompt prefix
        started = time.perf_counter()
        await config.evaluate(ctx, root, children)
        concurrent = time.perf_counter() - started
        started = time.perf_counter()
        for child in children:
            await config.evaluate(ctx, root, [child])
        sequential = time.perf_counter() - started
        await model.aclose()
    console.print(f"breadth-5 expansion: concurrent {concurrent:.1f} s, sequential {sequential:.1f} s", highlight=False)
    return concurrent, sequential


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen-1.5b")
    parser.add_argument("--puzzles", type=int, default=4, help="puzzles in the fixed sample (seed 0)")
    parser.add_argument("--only", nargs="*", choices=sorted(KEYS), help="run only these workflows")
    parser.add_argument("--max-calls", type=int, default=80, help="budget per puzzle and workflow")
    parser.add_argument("--server-model", default="qwen-0.5b", help="model served for the concurrency test")
    parser.add_argument("--no-server", action="store_true", help="skip the concurrency test")
    args = parser.parse_args()
    console = Console()
    puzzles = Game24Task().sample(args.puzzles)
    console.print("puzzles: " + ", ".join(p.question for p in puzzles), highlight=False)
    configs = [c for c in CONFIGS if not args.only or c[0] in {KEYS[k] for k in args.only}]
    model = load_model(args.model)
    rows = asyncio.run(compare(model, puzzles, configs, Limits(calls=args.max_calls), console))

    table = Table(title=f"Game of 24, {len(puzzles)} puzzles, {args.model}, budget {args.max_calls} calls/puzzle")
    for column in ("workflow", "solved", "calls/puzzle", "tokens/puzzle", "s/puzzle", "runtime overhead"):
        table.add_column(column, justify="left" if column == "workflow" else "right")
    for r in rows:
        table.add_row(r.label, f"{r.solved}/{r.runs}", f"{r.calls / r.runs:.1f}", f"{r.tokens / r.runs:.0f}",
                      f"{r.seconds / r.runs:.1f}", f"{100 * r.idle / r.seconds:.2f} %")
    console.print(table)
    total_idle, total = sum(r.idle for r in rows), sum(r.seconds for r in rows)
    console.print(f"graph runtime overhead over all runs: {100 * total_idle / total:.2f} % of wall time "
                  f"({total_idle:.2f} s of {total:.1f} s with no model call in flight)", highlight=False)
    if not args.no_server:
        from agentkit.models.bundled import resolve_gguf

        concurrent, sequential = asyncio.run(expansion_concurrency(str(resolve_gguf(args.server_model)), console))
        console.print(f"concurrent / sequential wall time: {concurrent / sequential:.2f}", highlight=False)



if __name__ == "__main__":
    main()
