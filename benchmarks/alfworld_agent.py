"""ALFWorld under the standard protocol (50 steps, the six task types, success = the env's ``won``) with the
default embedded model: plain ReAct vs each method of the ReAct family vs their combination.

    ALFWORLD_DATA=../shared/data/alfworld python benchmarks/alfworld_agent.py            # every method
    ALFWORLD_DATA=../shared/data/alfworld python benchmarks/alfworld_agent.py --methods react,score+notes
    python benchmarks/alfworld_agent.py --report                                          # table from results
    ALFWORLD_DATA=../shared/data/alfworld python benchmarks/alfworld_agent.py --split train --per-type 2 \
        --methods score+notes,no-list                                                     # to choose on

Episodes: the first ``--per-type`` (8) valid_seen games of each task type (48), the same for every method.
Nothing was tuned on them: the methods were developed on training games (never the two per type the
demonstrations come from), and ``--split train`` plays training games past those two, for choosing between
methods on data the report does not use (results under ``alfworld_agent_train``). Methods (``METHODS``; each is a set of ``react`` options):

  react        ReAct as shipped: the model writes thought and action (one expert demonstration per type)
  state        + notes kept from the observations in the latest turn (``track_state``)
  score        the model writes its thought; the action is the valid one it finds likeliest (``choose=score``)
  score+notes  the notes write the thought (what the goal needs next); the model scores the valid actions
  no-list      score+notes without the valid actions listed in the prompt (``show_actions=none``): they are
               scored, not read, and the list is most of what a step adds to the prompt
  lookahead    score+notes, and at a step where no action has half the probability, 3 sampled thoughts
               are pooled (``lookahead=3``), within 20k tokens an episode
  reflexion    score+notes with up to 3 trials of each game, the lessons of failed trials in the prompt
  memory       score+notes recalling an experience memory learned on the training split (expert
               demonstrations, 5 per type, with insights distilled from them), frozen during the test

Every method is a resumable run folder under ``--out/MODEL/METHOD``; kill the script any time and rerun it.
The report gives success with a Wilson 95 % interval per method and per type, tokens and seconds per
episode, prompt tokens per step at steps 10, 25 and 50, and the share of prompt tokens served from the KV
cache over whole episodes.
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

from agentkit.envs.alfworld import TASK_TYPES
from agentkit.envs.eval import select_tasks
from agentkit.envs.registry import make_env
from agentkit.experiments.config import EvalConfig
from agentkit.experiments.run import run_eval
from agentkit.experiments.stats import wilson

ROOT = Path(__file__).resolve().parent
SPLITS = {"valid_seen": "eval_in_distribution", "train": "train"}
DEMO_GAMES = 2  # per type: the training games the expert demonstrations are played on (envs/demos.py)
SCORED = {"choose": "score", "per_token": False, "track_state": True, "thought": "notes"}
METHODS: dict[str, dict[str, Any]] = {
    "react": {},
    "state": {"track_state": True},
    "score": {"choose": "score", "per_token": False},
    "score+notes": SCORED,
    "no-list": {**SCORED, "show_actions": "none"},
    "lookahead": {**SCORED, "lookahead": 3, "lookahead_tokens": 20000},
    "reflexion": {**SCORED, "trials": 3},
    "memory": SCORED,
}
MEMORY_METHODS = ("memory",)
SHORT = {"look_at_obj_in_light": "look", "pick_and_place_simple": "pick", "pick_clean_then_place_in_recep": "clean",
         "pick_heat_then_place_in_recep": "heat", "pick_cool_then_place_in_recep": "cool",
         "pick_two_obj_and_place": "two"}
console = Console(width=200)


async def learn_memory(folder: Path, model: str) -> Path:
    """The memory the ``memory`` method recalls: expert games of the training split, insights distilled."""
    memory = folder / "memory"
    config = EvalConfig(env="alfworld", split="train", policy="expert", per_type=5, learn=True,
                        memory=str(memory), model=model)
    await run_eval(config, out=folder / "learn", resume=(folder / "learn" / "episodes.jsonl").exists())
    return memory


async def training_games(per_type: int) -> list[str]:
    """The first ``per_type`` training games of each type after the demonstrations' ones, interleaved by type."""
    env = make_env("alfworld", split="train")
    try:
        chosen = select_tasks(env, per_type=DEMO_GAMES + per_type)
    finally:
        await env.close()
    return chosen[DEMO_GAMES * len(TASK_TYPES):]


async def run(methods: list[str], out: Path, model: str, per_type: int, split: str = "valid_seen") -> None:
    tasks = await training_games(per_type) if split == "train" else None
    for name in methods:
        options = METHODS[name]
        memory = await learn_memory(out, model) if name in MEMORY_METHODS else None
        config = EvalConfig(env="alfworld", split=SPLITS[split], tasks=tasks,
                            per_type=None if tasks else per_type, max_steps=50,
                            options=options, model=model, memory=str(memory) if memory else None,
                            frozen=memory is not None)
        folder = out / name
        console.print(f"[bold]{name}[/]: {json.dumps(options)}")
        await run_eval(config, out=folder, resume=(folder / "episodes.jsonl").exists(),
                       on_record=lambda r: console.print(
                           f"  {r.task_type} {'won' if r.won else 'lost'} in {r.steps} steps, "
                           f"{r.seconds:.0f} s, {r.tokens.get('total', 0):,} tokens"))


def _records(folder: Path) -> list[dict[str, Any]]:
    path = folder / "episodes.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _prompt_at(records: list[dict[str, Any]], step: int) -> str:
    """Median prompt tokens of the step ``step`` over the episodes that reached it."""
    values = [r["trajectory"][step - 1]["tokens"]["prompt"] for r in records
              if len(r.get("trajectory", [])) >= step and "tokens" in r["trajectory"][step - 1]]
    return f"{statistics.median(values):,.0f} ({len(values)})" if values else "-"


def _uncached(records: list[dict[str, Any]]) -> str:
    """Median prompt tokens a step had to evaluate (not served from the KV cache), after the first step."""
    values = [s["tokens"]["prompt"] - s["tokens"]["cached"] for r in records for s in r.get("trajectory", [])[1:]
              if "tokens" in s]
    return f"{statistics.median(values):,.0f}" if values else "-"


def report(out: Path, *, markdown: bool = False, split: str = "valid_seen") -> None:
    for model_dir in sorted(p for p in out.iterdir() if p.is_dir()):
        runs = {name: _records(model_dir / name) for name in METHODS}
        runs = {name: records for name, records in runs.items() if records}
        if not runs:
            continue
        table = Table(title=f"ALFWorld {split} · {model_dir.name} · 50 steps", title_justify="left")
        for column in ("method", "episodes", "success", "95% interval", *[SHORT[t] for t in TASK_TYPES],
                       "errors", "tokens/ep", "s/ep", "prompt tok @10", "@25", "@50", "cached", "uncached/step"):
            table.add_column(column, justify="left" if column == "method" else "right", no_wrap=True)
        for name, records in runs.items():
            n, won = len(records), sum(bool(r.get("won")) for r in records)
            lo, hi = wilson(won, n)
            by_type = []
            for task_type in TASK_TYPES:
                of = [r for r in records if r.get("task_type") == task_type]
                by_type.append(f"{sum(bool(r.get('won')) for r in of)}/{len(of)}" if of else "-")
            prompt = sum(r["tokens"].get("prompt", 0) for r in records)
            cached = sum(r["tokens"].get("cached", 0) for r in records)
            table.add_row(name, str(n), f"{won / n:.1%}", f"{lo:.1%}–{hi:.1%}", *by_type,
                          str(sum(bool(r.get("error")) for r in records)),
                          f"{statistics.mean(r['tokens'].get('total', 0) for r in records):,.0f}",
                          f"{statistics.mean(r.get('seconds', 0.0) for r in records):.0f}",
                          _prompt_at(records, 10), _prompt_at(records, 25), _prompt_at(records, 50),
                          f"{cached / prompt:.0%}" if prompt else "-", _uncached(records))
        table.caption = ("types: look = look_at_obj_in_light, pick = pick_and_place_simple, clean/heat/cool = "
                         "pick_X_then_place_in_recep, two = pick_two_obj_and_place; prompt tokens of one step "
                         "(median, episodes that reached it); cached: prompt tokens served from the KV cache; "
                         "uncached/step: the median step's prompt tokens that were evaluated (its new text)")
        console.print(table)
        if markdown:
            columns = [c.header for c in table.columns]
            print("| " + " | ".join(columns) + " |\n|" + " --- |" * len(columns))
            for i in range(table.row_count):
                print("| " + " | ".join(str(c._cells[i]) for c in table.columns) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated, from: " + ", ".join(METHODS))
    parser.add_argument("-m", "--model", default="qwen-1.5b")
    parser.add_argument("--per-type", type=int, default=8)
    parser.add_argument("--split", choices=SPLITS, default="valid_seen",
                        help="valid_seen (reported) or train (past the demonstrations' games; to choose on)")
    parser.add_argument("--out", type=Path, help="default: results/alfworld_agent, or alfworld_agent_train")
    parser.add_argument("--report", action="store_true", help="only print the table from the results so far")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    out = args.out or ROOT / "results" / ("alfworld_agent" if args.split == "valid_seen" else "alfworld_agent_train")
    if not args.report:
        asyncio.run(run(methods, out / args.model, args.model, args.per_type, args.split))
    if out.is_dir():
        report(out, markdown=args.markdown, split=args.split)
    return 0


if __name__ == "__main__":
    sys.exit(main())
