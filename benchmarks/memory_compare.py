"""Does the experience memory help? Plain ReAct vs ReAct with a memory seeded from demonstrations vs ReAct
with a memory of its own experience, on the same games with the same model, in one run.

    python benchmarks/memory_compare.py [--out runs/memcmp] [-m qwen-1.5b] [--per-type 20] [--train 20]

The protocol is the CLI's, so every arm is an ordinary, resumable run folder:

1. ``plain``: ``agentkit eval`` on the test games.
2. ``demos``: ``agentkit learn --policy expert`` on the training split fills a memory with the environment's
   reference solutions; then ``agentkit eval --memory … --frozen`` on the test games.
3. ``own``: ``agentkit learn`` (the agent itself, on the training split) records successes and failures,
   writes a reflection after each failure and distils insights and concepts every ``--distill-every``
   episodes; then ``agentkit eval --memory … --frozen`` on the test games.

All arms keep the default flags otherwise (one expert demonstration per task type in the prompt, temperature
0), so the memory is the only difference. The default games are TextWorldExpress coin in two rooms without
doors or distractors, where plain ReAct with the 1.5B embedded model wins some episodes but not all (3 of 20 in
our runs): a comparison needs a baseline strictly between 0 % and 100 %. Kill it any time; rerun the same
command to continue.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from agentkit.experiments.stats import wilson

COIN = "params=numLocations=2,includeDoors=0,numDistractorItems=0"


def _agentkit(*args: str) -> None:
    command = [sys.executable, "-m", "agentkit.cli", *args]
    print("$ agentkit " + " ".join(args), flush=True)
    subprocess.run(command, check=True)


def _run(kind: str, out: Path, common: list[str], extra: list[str]) -> None:
    resume = ["--resume"] if (out / "episodes.jsonl").exists() else []
    _agentkit(kind, *common, *extra, "--out", str(out), "--no-plot", *resume)


def _summary(out: Path) -> dict[str, float]:
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    n = len(records)
    return {"episodes": n, "won": sum(bool(r["won"]) for r in records),
            "steps": sum(r["steps"] for r in records) / n,
            "tokens": sum((r.get("tokens") or {}).get("total", 0) for r in records) / n,
            "seconds": sum(r["seconds"] for r in records) / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/memcmp")
    parser.add_argument("-m", "--model", default="qwen-1.5b")
    parser.add_argument("--env", default="twx")
    parser.add_argument("--env-option", action="append", help=f"default: games=coin and {COIN}")
    parser.add_argument("--per-type", type=int, default=20, help="test episodes per task type")
    parser.add_argument("--train", type=int, default=20, help="training episodes per task type (learning arms)")
    parser.add_argument("--max-steps", type=int, default=10)
    parser.add_argument("--distill-every", type=int, default=10)
    args = parser.parse_args()
    out = Path(args.out)
    options = args.env_option or ["games=coin", COIN]
    env = ["--env", args.env, *[x for o in options for x in ("--env-option", o)]]
    common = [*env, "-m", args.model, "--max-steps", str(args.max_steps)]
    test = [*common, "--per-type", str(args.per_type)]
    train = [*common, "--per-type", str(args.train)]

    _run("eval", out / "plain", test, [])
    _run("learn", out / "learn-demos", [*env, "--per-type", str(args.train)],  # the expert needs no step cap
         ["--policy", "expert", "--memory", str(out / "mem-demos")])
    _run("eval", out / "demos", test, ["--memory", str(out / "mem-demos"), "--frozen"])
    _run("learn", out / "learn-own", train, ["--memory", str(out / "mem-own"), "--distill-every",
                                              str(args.distill_every)])
    _run("eval", out / "own", test, ["--memory", str(out / "mem-own"), "--frozen"])

    print(f"\n{args.env} {' '.join(options)} · model {args.model} · max {args.max_steps} steps")
    print(f"{'arm':<8} {'won':>9} {'rate':>6} {'95% interval':>14} {'steps':>6} {'tokens/ep':>10} {'s/ep':>6}")
    for arm in ("plain", "demos", "own"):
        s = _summary(out / arm)
        low, high = wilson(s["won"], s["episodes"])
        print(f"{arm:<8} {s['won']:>4}/{s['episodes']:<4} {s['won'] / s['episodes']:>6.0%} {low:>6.0%} - {high:<5.0%} "
              f"{s['steps']:>6.1f} {s['tokens']:>10,.0f} {s['seconds']:>6.0f}")
    learned = _summary(out / "learn-own")
    print(f"(learning on the training split, own arm: won {learned['won']}/{learned['episodes']})")


if __name__ == "__main__":
    main()
