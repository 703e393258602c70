"""Design search, measured honestly: does an evolved design beat its seed on episodes the search never saw?

For each target, three independent searches per strategy (``evolve`` and the ``random`` control), seeds
0, 1, 2, each at the same episode budget, start from the target's seed design. Then the seed design and each
search's pick (its front's best on validation) play the target's test part, which no search reads. The
table, per target:

  design      the seed, or the pick of random-S / evolve-S
  test        success on the test part with its 95 % Wilson interval
  vs seed     the paired difference to the seed on the same test episodes, its exact 95 % interval
              (conditional Clopper-Pearson) and the exact McNemar p-value
  tok/ep, s/ep  tokens and seconds per test episode
  val->test   the pick's validation success minus its test success (how much the pick was luck)
  search cost episodes played, model calls, tokens, wall minutes, candidates proposed / promoted, cache hits

Goal: on at least one target, the evolved pick beats the seed on test by at least 5 points with the paired
interval above zero in 2 of the 3 evolve searches, at no more tokens per episode. The script prints whether
it was reached.

Everything goes to ``--out`` (one folder per target; searches share its episode cache), so a killed run
resumes (rerun the same command) and ``--report`` redraws the tables from what finished.

Usage:
    GSM8K_DATA=../shared/data/gsm8k python benchmarks/design_search.py --target gsm8k --budget-episodes 400
    python benchmarks/design_search.py --target twx:simonsays --design examples/designs/twx-react.yaml
    python benchmarks/design_search.py --report
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from agentkit.experiments.designs import load_design
from agentkit.experiments.search import Budget, SearchConfig, run_search, score_design
from agentkit.experiments.search_report import load_search
from agentkit.experiments.stats import paired, wilson
from agentkit.experiments.targets import get_target

SEED_DESIGNS = {"gsm8k": "examples/designs/gsm8k-cot.yaml", "twx": "examples/designs/twx-react.yaml"}


def _parts(text: str) -> tuple[int, int, int]:
    a, b, c = (int(x) for x in text.split(","))
    return a, b, c


async def run_target(args: argparse.Namespace, target_name: str, console: Console) -> None:
    folder = Path(args.out) / target_name.replace(":", "-")
    folder.mkdir(parents=True, exist_ok=True)
    design = load_design(args.design or SEED_DESIGNS[target_name.split(":")[0]])
    sizes = _parts(args.parts)
    for seed in range(args.searches):
        for strategy in ("random", "evolve"):
            out = folder / f"{strategy}-{seed}"
            config = SearchConfig(target=target_name, seed_design=design, budget=Budget(episodes=args.budget_episodes),
                                  strategy=strategy, model=args.model, proposer_model=args.proposer_model, seed=seed,
                                  batch=args.batch, sizes=sizes, concurrency=args.concurrency)
            console.print(f"[bold]{target_name} {strategy}-{seed}[/]: searching ({args.budget_episodes} episodes)")
            result = await run_search(config, out=out, resume=(out / "search.json").exists(),
                                      on_progress=lambda p: console.print(
                                          f"  [dim]{p.candidates} candidates, {p.promoted} promoted, best "
                                          f"{(p.best or 0) * 100:.0f}%, {p.spent['episodes']:.0f} episodes[/]",
                                          highlight=False))
            console.print(f"  stopped: {result.stopped}")
    target = await asyncio.to_thread(get_target, target_name, search=sizes[0], validation=sizes[1], test=sizes[2])
    cache = folder / "episode-cache.sqlite"
    picks = {"seed": design}
    for out in sorted(folder.glob("*-[0-9]*")):
        if (out / "search.json").exists():
            picks[out.name] = load_search(out).best.design
    for name, pick in picks.items():
        console.print(f"[bold]{target_name}[/]: {name} ({pick.id}) on the test part")
        await score_design(pick, target, "test", model=args.model, out=folder / "test", cache=cache,
                           concurrency=args.concurrency)


def report(out: Path, console: Console) -> None:
    from agentkit.experiments.cache import EpisodeCache, Key, model_fingerprint

    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        searches = {p.name: load_search(p) for p in sorted(folder.glob("*-[0-9]*")) if (p / "search.json").exists()}
        if not searches:
            continue
        any_search = next(iter(searches.values()))
        settings = any_search.settings
        sizes = settings["sizes"]
        target = get_target(settings["target"], search=sizes[0], validation=sizes[1], test=sizes[2])
        test_ids = target.parts["test"].ids
        cache = EpisodeCache(folder / "episode-cache.sqlite")
        model = model_fingerprint(settings.get("model"))
        seed_candidate = any_search.archive[0]

        def test_of(design_id: str) -> list[Any] | None:
            found = cache.lookup(Key(design_id, model, target.name, 0), test_ids)
            return [found[t] for t in test_ids] if len(found) == len(test_ids) else None

        seed_records = test_of(seed_candidate.design.id)
        table = Table(title=f"{target.name}: the seed vs each search's pick, on {len(test_ids)} held-out test "
                            "episodes", title_justify="left")
        for column in ("design", "id", "test", "95% interval", "vs seed (95% interval, McNemar p)", "tok/ep", "s/ep",
                       "val->test", "search cost"):
            table.add_column(column)
        rows: list[tuple[str, Any, Any]] = [("seed", seed_candidate, None)]
        rows += [(name, s.best, s) for name, s in searches.items()]
        reached = 0
        for name, candidate, search in rows:
            records = test_of(candidate.design.id)
            if records is None:
                table.add_row(name, candidate.design.id, "not scored yet", "", "", "", "", "", "")
                continue
            won = sum(bool(r.won) for r in records)
            lo, hi = wilson(won, len(records))
            tokens = sum(r.tokens.get("total", 0) for r in records) / len(records)
            seconds = sum(r.seconds or 0 for r in records) / len(records)
            versus, gap, cost = "", "", ""
            if search is not None and seed_records is not None:
                d = paired([bool(r.won) for r in records], [bool(r.won) for r in seed_records])
                versus = (f"{100 * d.difference:+.1f} ({100 * d.interval[0]:+.1f} to {100 * d.interval[1]:+.1f}, "
                          f"p={d.p_value:.3f})")
                seed_tokens = sum(r.tokens.get("total", 0) for r in seed_records) / len(seed_records)
                if (name.startswith("evolve") and d.difference >= 0.05 and d.interval[0] > 0
                        and tokens <= seed_tokens):
                    reached += 1
                gap = f"{100 * (candidate.validation.success - won / len(records)):+.1f}"
                spent = search.cost(cache)
                counts = search.counts()
                proposed = sum(counts.values()) - counts.get("seed", 0)
                cost = (f"{spent.get('episodes', 0):.0f} ep, {spent.get('calls', 0):.0f} calls, "
                        f"{spent.get('tokens', 0) / 1000:.0f}k tok, {spent['wall_seconds'] / 60:.0f} min, "
                        f"{proposed}/{counts.get('promoted', 0)} proposed/promoted, "
                        f"{search.state.get('cache_hits', 0)} hits")
            table.add_row(name, candidate.design.id, f"{100 * won / len(records):.1f}%",
                          f"{100 * lo:.1f}–{100 * hi:.1f}%", versus, f"{tokens:.0f}", f"{seconds:.1f}", gap, cost)
        table.caption = (f"goal (evolved pick >= seed + 5 points, paired interval above 0, no more tokens) reached "
                         f"in {reached} of {sum(n.startswith('evolve') for n in searches)} evolve searches: "
                         f"{'MET' if reached >= 2 else 'not met'}")
        console.print(table)
        for name, search in searches.items():
            if name.startswith("evolve"):
                console.print(f"[dim]{name} pick: {search.out / 'designs' / (search.best.design.id + '.yaml')}[/]")
        cache.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", action="append", help="gsm8k, twx:simonsays, twx:mapreader (repeatable)")
    parser.add_argument("--design", help="the seed design (default: examples/designs/ per target)")
    parser.add_argument("-m", "--model", default="qwen-1.5b")
    parser.add_argument("--proposer-model", help="default: --model")
    parser.add_argument("--searches", type=int, default=3, help="independent searches per strategy (default 3)")
    parser.add_argument("--budget-episodes", type=int, default=400, help="per search (default 400)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--parts", default="40,100,200", help="search,validation,test sizes (default 40,100,200)")
    parser.add_argument("-k", "--concurrency", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/design_search")
    parser.add_argument("--report", action="store_true", help="only print the tables from what finished")
    args = parser.parse_args()
    console = Console(width=200)
    out = Path(args.out)
    if not args.report:
        for target in args.target or ["gsm8k"]:
            asyncio.run(run_target(args, target, console))
    if out.exists():
        report(out, console)


if __name__ == "__main__":
    main()
