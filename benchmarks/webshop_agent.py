"""WebShop on the fixture site with the default embedded model: ReAct, and ReAct recalling an experience memory.

    python benchmarks/webshop_agent.py                  # both arms (resumable)
    python benchmarks/webshop_agent.py --report         # the table from the results so far

The site is this project's fixture (``agentkit.envs.webshop.server``, served in-process on 127.0.0.1): 20
products, the official reward, ReAct's observation format. Episodes: its 12 test goals, 15 steps each (the
harness's WebShop default), the same for both arms. Nothing was tuned on them. Arms:

  react    ReAct with one demonstration, played by the fixture's expert on a train goal (ids 1500-1507)
  memory   the same, recalling a memory learned from the expert on the 8 train goals, insights distilled
           from them by the model; frozen during the test

The report gives success (reward 1.0) with a Wilson 95 % interval, the mean reward, steps, invalid actions,
tokens and seconds per episode. Each arm is a run folder under ``--out/MODEL/ARM``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from agentkit.envs.webshop.catalog import GOALS, TRAIN_GOALS
from agentkit.envs.webshop.server import serving
from agentkit.experiments.config import EvalConfig
from agentkit.experiments.run import run_eval
from agentkit.experiments.stats import wilson

ROOT = Path(__file__).resolve().parent
ARMS = ("react", "memory")
console = Console(width=160)


def _resume(folder: Path) -> bool:
    return (folder / "episodes.jsonl").exists()


async def run(arms: list[str], out: Path, model: str) -> None:
    with serving() as url:
        site = {"url": url}
        for arm in arms:
            memory = None
            if arm == "memory":
                memory = out / "experience"  # the store (the arm's run folder is out / "memory")
                learn = EvalConfig(env="webshop", split="train", env_options={**site, "goals": len(TRAIN_GOALS)},
                                   policy="expert", learn=True, memory=str(memory), model=model)
                await run_eval(learn, out=out / "learn", resume=_resume(out / "learn"))
            config = EvalConfig(env="webshop", split="test", env_options={**site, "goals": len(GOALS)}, model=model,
                                memory=str(memory) if memory else None, frozen=memory is not None)
            folder = out / arm
            console.print(f"[bold]{arm}[/]")
            await run_eval(config, out=folder, resume=_resume(folder),
                           on_record=lambda r: console.print(
                               f"  goal {r.task_id}: reward {r.reward:.2f} in {r.steps} steps, {r.seconds:.0f} s, "
                               f"{r.tokens.get('total', 0):,} tokens"))


def _records(folder: Path) -> list[dict[str, Any]]:
    path = folder / "episodes.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def report(out: Path, *, markdown: bool = False) -> None:
    for model_dir in sorted(p for p in out.iterdir() if p.is_dir()):
        runs = {arm: _records(model_dir / arm) for arm in ARMS}
        runs = {arm: records for arm, records in runs.items() if records}
        if not runs:
            continue
        table = Table(title=f"WebShop fixture · {model_dir.name} · 12 test goals, 15 steps", title_justify="left")
        columns = ("arm", "episodes", "success", "95% interval", "mean reward", "steps/ep", "invalid/ep", "errors",
                   "tokens/ep", "s/ep")
        for column in columns:
            table.add_column(column, justify="left" if column == "arm" else "right", no_wrap=True)
        rows = []
        for arm, records in runs.items():
            n, won = len(records), sum(bool(r.get("won")) for r in records)
            lo, hi = wilson(won, n)
            invalid = [sum(not s.get("valid", True) for s in r.get("trajectory", [])) for r in records]
            row = [arm, str(n), f"{won / n:.1%}", f"{lo:.1%}–{hi:.1%}",
                   f"{statistics.mean(r.get('reward', 0.0) for r in records):.3f}",
                   f"{statistics.mean(r.get('steps', 0) for r in records):.1f}", f"{statistics.mean(invalid):.1f}",
                   str(sum(bool(r.get("error")) for r in records)),
                   f"{statistics.mean(r['tokens'].get('total', 0) for r in records):,.0f}",
                   f"{statistics.mean(r.get('seconds', 0.0) for r in records):.0f}"]
            table.add_row(*row)
            rows.append(row)
        console.print(table)
        if markdown:
            print("| " + " | ".join(columns) + " |\n|" + " --- |" * len(columns))
            for row in rows:
                print("| " + " | ".join(row) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", default=",".join(ARMS), help="comma-separated, from: " + ", ".join(ARMS))
    parser.add_argument("-m", "--model", default="qwen-1.5b")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "webshop_agent")
    parser.add_argument("--report", action="store_true", help="only print the table from the results so far")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args(argv)
    if not args.report:
        arms = [a.strip() for a in args.arms.split(",") if a.strip()]
        unknown = sorted(set(arms) - set(ARMS))
        if unknown:
            parser.error(f"unknown arms {', '.join(unknown)}; use {', '.join(ARMS)}")
        asyncio.run(run(arms, args.out / args.model, args.model))
    if args.out.is_dir():
        report(args.out, markdown=args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
