"""Test-time compute on GSM8K: what each workflow buys, in accuracy per token, on the embedded models.

On a fixed seeded sample of the training split (never its first 500 problems, the ones prompts and
demonstrations are picked from), each model runs:

  cot         greedy chain of thought, zero-shot (Qwen's math instruction: reason step by step, \\boxed{})
  cot4        the same with 4 worked examples from the training split's first problems
  sc8         8 samples at temperature 0.7 in one batched call; SC@k (k = 1, 2, 4, 8) votes over the first k,
              and best-of-k reuses the same samples with each verifier:
                bon-task  the task's programmatic step check (every equation recomputed), last/min/prod
                bon-llm   the model judging its own solution, P(Yes) from the first reply token
              (w- prefixes: weighted voting, the answer whose samples' scores sum highest)
  beam-task   step-level beam search (width 2, 2 samples per step) valued by the task's step check
  beam-llm    the same valued by the model's step judge
  tot         Tree-of-Thoughts BFS (breadth 2, 2 samples per step), the model rating partial solutions
  mcts        MCTS (4 iterations, 2 children) over the same steps, valued by the model

Results go to ``--out`` (one JSONL per model, a line per method and problem), so an interrupted run
resumes where it stopped and ``--report`` redraws the table and plot from them. The table reports accuracy
with a 95 % Wilson interval over the problems every method in it has finished, generated and prompt tokens
(prompt tokens counted once per call; a batched call shares its prompt), and wall seconds per problem. SC@k and
best-of-k for k < 8 are read from the first k of the 8 samples, with their tokens and seconds taken
as the first k samples' share of the call's (marked "derived").

Usage:
    GSM8K_DATA=../shared/data/gsm8k python benchmarks/test_time_compute.py --model qwen-1.5b --model qwen-0.5b
    python benchmarks/test_time_compute.py --report            # table and PNG from the results so far
    python benchmarks/test_time_compute.py --report --methods cot,sc8,bon-llm   # over what those finished
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from agentkit.context import RunContext
from agentkit.experiments.stats import wilson
from agentkit.models.registry import load_model
from agentkit.workflows import cot, mcts, self_consistency, tot
from agentkit.workflows.nodes import vote, weighted_vote
from agentkit.workflows.tasks.gsm8k import Gsm8kTask
from agentkit.workflows.verifiers import JudgeVerifier, aggregate, split_steps

ROOT = Path(__file__).resolve().parent
METHODS = ("cot", "sc8", "bon-llm", "cot4", "beam-task", "beam-llm", "tot", "mcts")
PUBLISHED = {"qwen-1.5b": ("Qwen2.5-1.5B-Instruct", 73.2), "qwen-0.5b": ("Qwen2.5-0.5B-Instruct", 49.6)}
console = Console(width=150)
#: families shown at every k in the table (the others only at k = 8; all of them are in the JSONL and the plot)
EVERY_K = ("SC", "BoN-task-min", "BoN-llm")


# --- running ---------------------------------------------------------------------------------------------


def _graphs(task: Gsm8kTask) -> dict[str, Callable[[], Any]]:
    four = Gsm8kTask(split=task.split, data_dir=task.data_dir, shots=4)
    return {
        "cot": lambda: cot.build(task=task),
        "cot4": lambda: cot.build(task=four),
        "sc8": lambda: self_consistency.build(task=task, n=8, temperature=0.7),
        "beam-task": lambda: tot.build(task=task, algo="beam", width=2, k=2, verifier="task", aggregate="min"),
        "beam-llm": lambda: tot.build(task=task, algo="beam", width=2, k=2, verifier="llm", aggregate="mean"),
        "tot": lambda: tot.build(task=task, algo="bfs", breadth=2, k=2),
        "mcts": lambda: mcts.build(task=task, iterations=4, k=2, reflect=False),
    }


async def _solve(graph: Any, model: Any, question: str, max_tokens: int, seed: int) -> tuple[dict[str, Any], Any]:
    ctx = RunContext(model, temperature=0.0, max_tokens=max_tokens, seed=seed)
    state = await graph.ainvoke({"question": question}, context=ctx)
    return state, ctx.spent


async def _judge_samples(model: Any, task: Gsm8kTask, question: str, texts: list[str]) -> tuple[list[float], Any]:
    """The LLM judge's whole-solution score of each sample (one 1-token call each) and what it cost."""
    ctx = RunContext(model, max_tokens=1)
    judge = JudgeVerifier(task)
    scores = []
    for text in texts:
        steps = split_steps(text)
        scores.append((await judge.score_steps(ctx, question, steps, last_only=True))[0] if steps else 0.0)
    return scores, ctx.spent


def _cpu_ticks() -> tuple[int, int]:
    """(the machine's busy CPU ticks, this process's) so far, from /proc (zeros where there is none)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        own = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        return sum(fields) - fields[3] - fields[4], int(own[11]) + int(own[12])  # minus idle and iowait
    except (OSError, ValueError, IndexError):
        return 0, 0


def _others(before: tuple[int, int], wall: float) -> float:
    """The share of the machine's CPU that other processes used since ``before``: a row whose clock time
    was stretched by another job (above ``CONTENDED``) is not timed in the table."""
    busy, own = _cpu_ticks()
    capacity = wall * os.sysconf("SC_CLK_TCK") * (os.cpu_count() or 1)
    return round(max(0.0, (busy - before[0]) - (own - before[1])) / capacity, 3) if capacity and busy else 0.0


#: other processes' share of the CPU above which a row's clock time is not reported
CONTENDED = 0.15


def _usage(u: Any, wall: float, before: tuple[int, int]) -> dict[str, Any]:
    """``seconds`` sums the calls' waits, which overlap when a search expands nodes concurrently; ``wall`` is
    the problem's clock time, what the table reports; ``others`` the CPU share other processes took meanwhile."""
    return {"calls": u.calls, "prompt_tokens": u.prompt_tokens, "cached_tokens": u.cached_tokens,
            "completion_tokens": u.completion_tokens, "seconds": round(u.seconds, 2), "wall": round(wall, 2),
            "others": _others(before, wall)}


#: methods whose calls run one after another, so the calls' summed seconds are their wall time (rows
#: recorded before ``wall`` was kept are timed by it; the tree searches' older rows have no time)
SEQUENTIAL = ("cot", "cot4", "sc8", "bon-llm")


def _wall(method: str, usage: dict[str, Any]) -> float | None:
    if usage.get("others", 0.0) > CONTENDED:
        return None
    if "wall" in usage:
        return usage["wall"]
    return usage["seconds"] if method in SEQUENTIAL else None


async def run_model(spec: str, problems: list[Any], methods: list[str], out: Path, max_tokens: int,
                    seed: int) -> None:
    path = out / f"{spec.replace('/', '_').replace(':', '_')}.jsonl"
    done = {(r["method"], r["problem"]) for r in _read(path)}
    todo = [(p, m) for p in problems for m in methods if (m, p.id) not in done]
    if not todo:
        console.print(f"{spec}: all {len(problems)} problems done for {', '.join(methods)}")
        return
    model = load_model(spec)
    await model.load()
    task = Gsm8kTask(split="train")
    graphs = {name: make() for name, make in _graphs(task).items()}
    samples = {r["problem"]: r for r in _read(path) if r["method"] == "sc8"}
    started = time.perf_counter()
    for i, (problem, method) in enumerate(todo, 1):
        record: dict[str, Any] = {"model": spec, "method": method, "problem": problem.id,
                                  "reference": problem.reference}
        clock, ticks = time.perf_counter(), _cpu_ticks()
        if method == "bon-llm":
            sc = samples.get(problem.id)
            if sc is None:
                continue  # needs the problem's sc8 samples first
            scores, spent = await _judge_samples(model, task, problem.question, [s["text"] for s in sc["samples"]])
            record.update(scores=scores, usage=_usage(spent, time.perf_counter() - clock, ticks))
        else:
            state, spent = await _solve(graphs[method], model, problem.question, max_tokens, seed)
            answer = state.get("answer")
            record.update(answer=answer, correct=bool(task.score(problem, answer)),
                          usage=_usage(spent, time.perf_counter() - clock, ticks),
                          stop_reason=state.get("stop_reason"), rule=task.extraction(state.get("reasoning", "")).rule
                          if method.startswith("cot") else None)
            if method == "sc8":
                record["samples"] = [_sample(task, problem, c) for c in state.get("candidates", [])]
                samples[problem.id] = record
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        rate = (time.perf_counter() - started) / i
        console.print(f"[dim]{spec} {i}/{len(todo)} {problem.id} {method}: "
                      f"{'✓' if record.get('correct') else '·'} {record['usage']['completion_tokens']} tok "
                      f"{record['usage']['wall']:.0f}s (≈{rate * (len(todo) - i) / 60:.0f} min left)[/]")
    await model.aclose()


def _sample(task: Gsm8kTask, problem: Any, candidate: dict[str, Any]) -> dict[str, Any]:
    text = candidate["text"]
    steps = split_steps(text)
    checks = task.verify_steps(problem.question, steps) if steps else []
    found = task.extraction(text)
    return {"text": text, "answer": found.answer, "rule": found.rule,
            "correct": bool(task.score(problem, found.answer)), "chars": len(text), "task_steps": checks}


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by a crash: that problem is simply redone
    return out


# --- reporting -------------------------------------------------------------------------------------------


class _Vote:
    """Stands in for the task in ``vote``: answers are already normalised numbers."""

    @staticmethod
    def normalize(answer: str) -> str:
        return answer


def _derived(sc: dict[str, Any], judged: dict[str, Any] | None, task: Gsm8kTask) -> dict[str, dict[str, Any]]:
    """SC@k and best-of-k rows for one problem, from its 8 samples (and the judge's scores of them)."""
    samples = sc["samples"]
    reference = task.normalize(sc["reference"])
    total_chars = sum(s["chars"] for s in samples) or 1
    u = sc["usage"]
    wall = _wall("sc8", u)
    rows: dict[str, dict[str, Any]] = {}
    for k in (1, 2, 4, 8):
        first = samples[:k]
        share = sum(s["chars"] for s in first) / total_chars
        base = {"completion_tokens": u["completion_tokens"] * share, "prompt_tokens": u["prompt_tokens"],
                "seconds": None if wall is None else wall * share}
        cands = [{"text": "", "answer": s["answer"]} for s in first]
        answer, _, _ = vote(_Vote(), cands)  # type: ignore[arg-type]
        rows[f"SC@{k}"] = {**base, "correct": answer == reference}
        for how in ("last", "min", "prod"):
            scored = [{**c, "score": aggregate(s["task_steps"], how)} for c, s in zip(cands, first, strict=True)]
            rows[f"BoN-task-{how}@{k}"] = {**base, "correct": _best(scored) == reference}
            rows[f"wBoN-task-{how}@{k}"] = {**base, "correct": weighted_vote(_Vote(), scored)[0] == reference}  # type: ignore[arg-type]
        if judged is not None:
            scores = judged["scores"][:k]
            ju = judged["usage"]
            extra = {"completion_tokens": base["completion_tokens"] + ju["completion_tokens"] * k / 8,
                     "prompt_tokens": base["prompt_tokens"] + ju["prompt_tokens"] * k / 8,
                     "seconds": _plus(base["seconds"], _wall("bon-llm", ju), k / 8)}
            scored = [{**c, "score": s} for c, s in zip(cands, scores, strict=True)]
            rows[f"BoN-llm@{k}"] = {**extra, "correct": _best(scored) == reference}
            rows[f"wBoN-llm@{k}"] = {**extra, "correct": weighted_vote(_Vote(), scored)[0] == reference}  # type: ignore[arg-type]
    return rows


def _plus(seconds: float | None, judged: float | None, share: float) -> float | None:
    return None if seconds is None or judged is None else seconds + judged * share


def _best(scored: list[dict[str, Any]]) -> str | None:
    answered = [c for c in scored if c["answer"] is not None]
    return max(answered, key=lambda c: c["score"])["answer"] if answered else None


def report(out: Path, plot: Path, *, markdown: bool = False, only: set[str] | None = None) -> None:
    """Print each model's table over the problems every method in it finished (``only``: just these methods,
    so a method that has run on fewer problems does not shrink the others' sample) and draw the plot."""
    task = Gsm8kTask(split="train")
    curves: dict[str, dict[str, list[tuple[float, float, float, float]]]] = {}
    for path in sorted(out.glob("*.jsonl")):
        records = [r for r in _read(path) if only is None or r["method"] in only]
        if not records:
            continue
        spec = records[0]["model"]
        by: dict[str, dict[str, dict[str, Any]]] = {}
        for r in records:
            by.setdefault(r["problem"], {})[r["method"]] = r
        ran = {r["method"] for r in records}
        paired = {p: methods for p, methods in by.items() if ran <= set(methods)}  # every method finished it
        rows: dict[str, list[dict[str, Any]]] = {}
        for methods in paired.values():
            for name in ("cot", "cot4", "beam-task", "beam-llm", "tot", "mcts"):
                if name in methods:
                    r = methods[name]
                    rows.setdefault(name, []).append({**r["usage"], "seconds": _wall(name, r["usage"]),
                                                      "correct": r["correct"]})
            if "sc8" in methods:
                for name, row in _derived(methods["sc8"], methods.get("bon-llm"), task).items():
                    rows.setdefault(name, []).append(row)
        table = Table(title=f"GSM8K train sample · {spec} · the {len(paired)} problems all of "
                            f"{', '.join(sorted(ran))} finished", title_justify="left")
        for column in ("method", "problems", "accuracy", "95% interval", "gen tok/problem", "prompt tok/problem",
                       "s/problem", "pts over cot per 1k extra tok"):
            table.add_column(column, justify="left" if column == "method" else "right")
        curves[spec] = {}
        base = rows.get("cot")
        base_acc = sum(r["correct"] for r in base) / len(base) if base else None
        base_gen = sum(r["completion_tokens"] for r in base) / len(base) if base else None
        for name, rs in sorted(rows.items(), key=lambda kv: _order(kv[0])):
            n, wins = len(rs), sum(r["correct"] for r in rs)
            lo, hi = wilson(wins, n)
            gen = sum(r["completion_tokens"] for r in rs) / n
            family = name.split("@")[0]
            curves[spec].setdefault(family, []).append((gen, wins / n, lo, hi))
            if "@" in name and not name.endswith("@8") and family not in EVERY_K:
                continue
            table.add_row(name + (" (derived)" if "@" in name and not name.endswith("@8") else ""), str(n),
                          f"{wins / n:.1%}", f"{lo:.1%}–{hi:.1%}", f"{gen:.0f}",
                          f"{sum(r['prompt_tokens'] for r in rs) / n:.0f}", _mean_seconds(rs),
                          _per_token(wins / n, gen, base_acc, base_gen))
        if spec in PUBLISHED:
            family, score = PUBLISHED[spec]
            table.caption = (f"published for the family: {family} {score}% on the GSM8K test split (the Qwen2.5 "
                             "report); this is the Coder variant, on a training-split sample")
        console.print(table)
        if markdown:
            _markdown(table)
    if curves:
        _plot(curves, plot)
        console.print(f"plot: {plot}")


def _mean_seconds(rows: list[dict[str, Any]]) -> str:
    """Wall seconds per problem over the rows that were timed (tree searches' oldest rows were not, nor rows
    run while another job took more than ``CONTENDED`` of the CPU); how many when not all."""
    timed = [r["seconds"] for r in rows if r["seconds"] is not None]
    if not timed:
        return "-"
    mean = f"{sum(timed) / len(timed):.1f}"
    return mean if len(timed) == len(rows) else f"{mean} (of {len(timed)})"


def _markdown(table: Table) -> None:
    """The table as Markdown, for the README."""
    columns = [c.header for c in table.columns]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for i in range(table.row_count):
        print("| " + " | ".join(str(c._cells[i]) for c in table.columns) + " |")


def _per_token(acc: float, gen: float, base_acc: float | None, base_gen: float | None) -> str:
    """Accuracy points gained over greedy CoT per 1,000 generated tokens spent beyond it ('-' for methods that
    spend about what CoT does, where the ratio means nothing)."""
    if base_acc is None or base_gen is None or gen - base_gen < 0.5 * base_gen:
        return "-"
    return f"{100 * (acc - base_acc) / (gen - base_gen) * 1000:+.1f}"


def _order(name: str) -> tuple[int, str, int]:
    family, _, k = name.partition("@")
    rank = ["cot", "cot4", "SC", "BoN-task-last", "BoN-task-min", "BoN-task-prod", "wBoN-task-last", "wBoN-task-min",
            "wBoN-task-prod", "BoN-llm", "wBoN-llm", "beam-task", "beam-llm", "tot", "mcts"]
    return (rank.index(family) if family in rank else 99, family, int(k or 0))


def _plot(curves: dict[str, dict[str, list[tuple[float, float, float, float]]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keep = ("cot", "cot4", "SC", "BoN-task-min", "wBoN-task-min", "BoN-llm", "wBoN-llm", "beam-task", "beam-llm",
            "tot", "mcts")
    fig, axes = plt.subplots(1, len(curves), figsize=(7 * len(curves), 5), squeeze=False)
    for ax, (spec, families) in zip(axes[0], curves.items(), strict=True):
        for family, points in families.items():
            if family not in keep:
                continue
            points.sort()
            xs, ys, los, his = zip(*points, strict=True)
            ax.errorbar(xs, [100 * y for y in ys], yerr=[[100 * (y - lo) for y, lo in zip(ys, los, strict=True)],
                                                        [100 * (hi - y) for y, hi in zip(ys, his, strict=True)]],
                        marker="o" if len(xs) > 1 else "s", capsize=2, alpha=0.8, label=family)
        if spec in PUBLISHED:
            ax.axhline(PUBLISHED[spec][1], color="grey", linestyle=":", label=f"{PUBLISHED[spec][0]} (published)")
        ax.set_xscale("log")
        ax.set(title=f"GSM8K · {spec} (bars: 95% intervals)", xlabel="generated tokens per problem",
               ylabel="accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


# --- entry -----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="model spec, repeatable (default: qwen-1.5b and qwen-0.5b)")
    parser.add_argument("--problems", type=int, default=100, help="problems in the sample (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the sample and the sampling (default 0)")
    parser.add_argument("--methods", default=None, help=f"comma-separated, run in this order per problem "
                        f"(default: {','.join(METHODS)}); with --report, the table's methods")
    parser.add_argument("--max-tokens", type=int, default=512, help="tokens per generation at most (default 512)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "test_time_compute", help="results folder")
    parser.add_argument("--plot", type=Path, default=None, help="PNG path (default: OUT/accuracy_vs_tokens.png)")
    parser.add_argument("--report", action="store_true", help="only print the table and draw the plot")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as Markdown")
    args = parser.parse_args()
    if not os.environ.get("GSM8K_DATA") and (ROOT.parent.parent / "shared" / "data" / "gsm8k").is_dir():
        os.environ["GSM8K_DATA"] = str(ROOT.parent.parent / "shared" / "data" / "gsm8k")
    args.out.mkdir(parents=True, exist_ok=True)
    plot = args.plot or args.out / "accuracy_vs_tokens.png"
    methods = [m.strip() for m in (args.methods or ",".join(METHODS)).split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    if not args.report:
        problems = Gsm8kTask(split="train").sample(args.problems, seed=args.seed)
        for spec in args.model or ["qwen-1.5b", "qwen-0.5b"]:
            asyncio.run(run_model(spec, problems, methods, args.out, args.max_tokens, args.seed))
    report(args.out, plot, markdown=args.markdown, only=set(methods) if args.methods else None)


if __name__ == "__main__":
    main()
