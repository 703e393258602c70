"""Scaling out on this machine: K concurrent ReAct episodes on TextWorldExpress with the default model, played
by one in-process model, by llama.cpp's batching server with N slots (``agentkit serve``), and through the
Ray executor; episodes/s, aggregate generated tokens/s, and the share of prompt tokens served from a KV
cache, all arms in one run on the same episodes.

    python benchmarks/scale_out.py [--model qwen-1.5b] [--episodes 6] [--max-steps 8] [--arms inproc-1,...]

Arms: ``inproc-K`` (run_eval, K episodes at once on one embedded model), ``server-N`` (K = N episodes on a
server with N slots, every thread to the server), ``ray-embedded-K`` (K Ray workers, each its own model with
its share of the cores), ``ray-server-N`` (N Ray workers sharing a server with N slots). Each arm's
clock runs from the run's start (after the driver loaded its model and played the demonstrations; a Ray
worker's own model loading counts, as it does on a cluster); ``wall_seconds`` has everything. Figures are saved to ``benchmarks/results/scale_out/MODEL/ARM.json`` as it ends, and a rerun skips arms
already there (``--fresh`` replays them), so a killed run resumes. Nothing else should run on the machine
meanwhile: two CPU-heavy processes share the two cores and every figure would halve.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from agentkit.experiments import EvalConfig, run_eval
from agentkit.experiments.executors import LocalExecutor, RayExecutor
from agentkit.models.serve import plan_server, serving_model

ARMS = ("inproc-1", "inproc-2", "inproc-4", "server-1", "server-2", "server-4", "ray-embedded-1", "ray-embedded-2",
        "ray-embedded-4", "ray-server-1", "ray-server-2", "ray-server-4")
RESULTS = Path(__file__).parent / "results" / "scale_out"


def _figures(arm: str, k: int, result, seconds: float) -> dict:
    records = result.records
    tokens = {key: sum(r.tokens.get(key, 0) for r in records) for key in ("prompt", "cached", "completion")}
    return {"arm": arm, "k": k, "episodes": len(records), "seconds": round(seconds, 1),
            "episodes_per_s": round(len(records) / seconds, 4), "steps": sum(r.steps for r in records),
            "won": sum(r.won for r in records), "errors": sum(r.error is not None for r in records),
            "completion_tok_per_s": round(tokens["completion"] / seconds, 2),
            "cached_share": round(tokens["cached"] / tokens["prompt"], 3) if tokens["prompt"] else None,
            **{f"{k_}_tokens": v for k_, v in tokens.items()}}


async def _arm(arm: str, args: argparse.Namespace, port: int) -> dict:
    kind, _, n = arm.rpartition("-")
    k = int(n)
    base = dict(env="twx", limit=args.episodes, max_steps=args.max_steps, concurrency=k, max_tokens=96)
    out = Path(tempfile.mkdtemp(prefix=f"scale-{arm}-"))
    if kind == "inproc":
        config, executor, server = EvalConfig(model=args.model, **base), LocalExecutor(), None
    elif kind in ("server", "ray-server"):
        server = serving_model(plan_server(args.model, parallel=k, port=port, ctx=args.ctx,
                                           threads=os.cpu_count()))
        spec = server.__enter__().spec
        config = EvalConfig(model=spec, **base)
        executor = RayExecutor(num_cpus=os.cpu_count()) if kind == "ray-server" else LocalExecutor()
    elif kind == "ray-embedded":
        config, executor, server = EvalConfig(model=args.model, **base), RayExecutor(num_cpus=os.cpu_count()), None
    else:
        raise SystemExit(f"unknown arm {arm!r}; arms: {', '.join(ARMS)}")
    marks: dict[str, float] = {}

    def on_event(task_id, event) -> None:  # the episodes' clock starts once the driver has loaded and prepared
        if type(event).__name__ == "RunStarted":
            marks["run"] = time.perf_counter()
    try:
        started = time.perf_counter()
        result = await run_eval(config, out=out, executor=executor, on_event=on_event)
        ended = time.perf_counter()
        seconds = ended - marks.get("run", started)
    finally:
        executor.close()
        if server is not None:
            server.__exit__(None, None, None)
    return {**_figures(arm, k, result, seconds), "wall_seconds": round(ended - started, 1)}


def _table(rows: list[dict]) -> str:
    base = next((r for r in rows if r["arm"] == "inproc-1"), rows[0])
    lines = ["| arm | K | episodes | s | episodes/s | vs inproc-1 | gen tok/s | cached | steps | errors |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        ratio = r["episodes_per_s"] / base["episodes_per_s"] if base["episodes_per_s"] else 0
        cached = f"{r['cached_share']:.0%}" if r["cached_share"] is not None else "-"
        lines.append(f"| {r['arm']} | {r['k']} | {r['episodes']} | {r['seconds']:.0f} | {r['episodes_per_s']:.4f} | "
                     f"{ratio:.2f}x | {r['completion_tok_per_s']:.1f} | {cached} | {r['steps']} | {r['errors']} |")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen-1.5b")
    parser.add_argument("--episodes", type=int, default=6)
    parser.add_argument("--max-steps", type=int, default=8)
    parser.add_argument("--ctx", type=int, default=4096, help="context per server slot")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--fresh", action="store_true", help="replay arms already saved")
    parser.add_argument("--report", action="store_true", help="print the saved arms' table only")
    args = parser.parse_args()
    folder = RESULTS / args.model
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for arm in args.arms.split(","):
        saved = folder / f"{arm}.json"
        if saved.exists() and not args.fresh:
            rows.append(json.loads(saved.read_text()))
            continue
        if args.report:
            continue
        print(f"{arm}…", flush=True)
        row = await _arm(arm, args, args.port)
        saved.write_text(json.dumps({**row, "model": args.model, "max_steps": args.max_steps,
                                     "measured": time.strftime("%Y-%m-%d %H:%M")}, indent=1))
        rows.append(row)
        print(f"  {row['episodes']} episodes in {row['seconds']:.0f} s, {row['episodes_per_s']:.4f}/s, "
              f"cached {row['cached_share']}", flush=True)
    if rows:
        print(_table(rows))


if __name__ == "__main__":
    asyncio.run(main())
