"""``agentkit search``: evolve agent designs on a target; ``agentkit search report RUN`` shows what it found."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agentkit.errors import UserError

__all__ = ["SEARCH_EXAMPLES", "add_search_arguments", "search_command"]

SEARCH_EXAMPLES = """examples:
  agentkit search --target gsm8k --design examples/designs/gsm8k-cot.yaml --strategy evolve \\
      --budget-episodes 600 --out runs/search-gsm8k-a
  agentkit search --target gsm8k --design examples/designs/gsm8k-cot.yaml --out runs/search-gsm8k-a --resume
  agentkit search --target twx:simonsays --design examples/designs/twx-react.yaml --strategy random \\
      --budget-episodes 400 --seed 1 --out runs/search-simon-r1
  agentkit search --target gsm8k --design D.yaml --proposer-model openai:http://127.0.0.1:8000/v1#big --out runs/s
  agentkit search report runs/search-gsm8k-a            # the front, the best design's lineage, the cost, a plot
"""


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("report", nargs="*", metavar="report RUN",
                        help="`report RUN [RUN ...]`: print a search folder's front, lineage and cost")
    parser.add_argument("--target", help="gsm8k, twx:GAME (twx:simonsays, twx:mapreader) or task:NAME")
    parser.add_argument("--design", metavar="FILE", help="the seed design (YAML/JSON)")
    parser.add_argument("--strategy", choices=["evolve", "random"], default="evolve", help="default: evolve")
    budget = parser.add_argument_group("budget (the search stops cleanly at the first one spent)")
    budget.add_argument("--budget-episodes", type=int, help="episodes played (cache hits are free)")
    budget.add_argument("--budget-calls", type=int, help="model calls")
    budget.add_argument("--budget-tokens", type=int, help="tokens")
    budget.add_argument("--budget-minutes", type=float, help="wall time")
    parser.add_argument("--proposer-model", help="the model that writes reflective rewrites (default: --model)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the search and the episodes' sampling")
    parser.add_argument("--batch", type=int, default=8, help="racing batch: search-part episodes (default 8)")
    parser.add_argument("--parts", default="40,100,200", metavar="S,V,T",
                        help="episodes in the search, validation and test parts (default 40,100,200)")
    parser.add_argument("-k", "--concurrency", type=int, default=1, help="episodes at once")
    parser.add_argument("--memory", metavar="PATH", help="a memory folder designs with recall read (frozen)")
    parser.add_argument("--out", help="the search folder (default runs/search-TARGET-STRATEGY-SEED)")
    parser.add_argument("--resume", action="store_true", help="continue the search in --out")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="where candidates' episodes play: this process (default) or Ray actors")
    parser.add_argument("--ray-address", metavar="HOST:PORT", help="a running Ray cluster (default: a local one)")
    parser.add_argument("--no-plot", dest="plot", action="store_false", help="report: skip the PNG")


async def search_command(args: argparse.Namespace) -> int:
    if args.report:
        if args.report[0] != "report" or len(args.report) < 2:
            raise UserError("Use `agentkit search report RUN [RUN ...]`, or start a search with --target and --design.")
        return _report(args.report[1:], plot=args.plot)
    return await _search(args)


def _parts(text: str) -> tuple[int, int, int]:
    try:
        sizes = tuple(int(x) for x in text.split(","))
    except ValueError:
        sizes = ()
    if len(sizes) != 3:
        raise UserError(f"--parts takes three counts, search,validation,test (e.g. 40,100,200), not {text!r}.")
    return sizes  # type: ignore[return-value]


async def _search(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from agentkit.experiments.designs import load_design
    from agentkit.experiments.search import Budget, SearchConfig, run_search

    if not args.target or not args.design:
        raise UserError("A search needs --target (gsm8k, twx:simonsays, ...) and --design (the seed design).")
    minutes = args.budget_minutes
    budget = Budget(episodes=args.budget_episodes, calls=args.budget_calls, tokens=args.budget_tokens,
                    seconds=minutes * 60 if minutes is not None else None)
    config = SearchConfig(target=args.target, seed_design=load_design(args.design), budget=budget,
                          strategy=args.strategy, model=args.model, proposer_model=args.proposer_model, seed=args.seed,
                          batch=args.batch, sizes=_parts(args.parts), concurrency=args.concurrency, memory=args.memory)
    out = Path(args.out or f"runs/search-{args.target.replace(':', '-')}-{args.strategy}-{args.seed}")
    console = Console()
    view = _Progress(console, budget)
    console.print(f"[dim]search {escape(str(out))} · {args.strategy} on {args.target} · seed design "
                  f"{config.seed_design.name} ({config.seed_design.id})[/]", highlight=False)
    from agentkit.experiments.executors import get_executor

    executor = get_executor(args.executor, address=args.ray_address)
    try:
        result = await run_search(config, out=out, resume=args.resume, on_progress=view, executor=executor)
    finally:
        view.close()
        executor.close()
    console.print(f"[bold]stopped:[/] {escape(result.stopped)}", highlight=False)
    return _report([str(out)], plot=True, console=console)


class _Progress:
    """A progress bar over the tightest budget, with the candidates, promotions and best so far."""

    def __init__(self, console: Any, budget: Any) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.console, self.budget = console, budget
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[spent]}"),
                                 TimeElapsedColumn(), console=console, transient=False)
        self.task = self.progress.add_task("starting", total=1.0, spent="")
        self.progress.start()

    def __call__(self, p: Any) -> None:
        from rich.markup import escape

        shares = []
        for name, limit, used in (("episodes", p.budget.episodes, p.spent["episodes"]),
                                  ("calls", p.budget.calls, p.spent["calls"]),
                                  ("tokens", p.budget.tokens, p.spent["tokens"]),
                                  ("s", p.budget.seconds, p.spent["wall_seconds"])):
            if limit:
                shares.append((used / limit, f"{used:,.0f}/{limit:,.0f} {name}"))
        share, text = max(shares) if shares else (0.0, "")
        best = f"{100 * p.best:.0f}%" if p.best is not None else "-"
        self.progress.update(self.task, completed=min(1.0, share), spent=text,
                             description=f"candidates {p.candidates} · promoted {p.promoted} · best {best}")
        if p.last is not None:
            c = p.last
            score = f" validation {100 * c.validation.success:.0f}%" if c.validation else ""
            self.progress.console.print(f"[dim]{c.iteration:>3} {escape(c.operator):<22} {c.status}{score} "
                                        f"{escape(c.reason[:90])}[/]", highlight=False)

    def close(self) -> None:
        self.progress.stop()


def _report(runs: list[str], *, plot: bool, console: Any = None) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from agentkit.experiments.cache import EpisodeCache
    from agentkit.experiments.search_report import load_search, plot_front

    console = console or Console()
    reports = [load_search(r) for r in runs]
    for report in reports:
        table = Table(title=f"{report.out} · {report.settings['strategy']} on {report.settings['target']}: the front",
                      title_justify="left")
        for column in ("design", "name", "status", "validation", "tokens/ep", "s/ep", "made by"):
            table.add_column(column)
        for c in sorted(report.front, key=lambda c: -c.validation.success):  # type: ignore[union-attr]
            v = c.validation
            table.add_row(c.design.id, escape(c.design.name), c.status, f"{100 * v.success:.1f}% of {v.n}",
                          f"{v.tokens:.0f}", f"{v.seconds:.1f}", escape(c.operator))
        console.print(table)
        best = report.best
        console.print("[bold]lineage of the best design[/] " + " → ".join(
            f"{escape(c.operator)} ({c.design.id}, {100 * c.validation.success:.0f}%)" if c.validation else
            f"{escape(c.operator)} ({c.design.id})" for c in report.lineage(best)), highlight=False)
        cache_path = report.out.parent / "episode-cache.sqlite"
        cache = EpisodeCache(cache_path) if cache_path.exists() else None
        try:
            cost = report.cost(cache)
        finally:
            if cache is not None:
                cache.close()
        counts = ", ".join(f"{n} {status}" for status, n in sorted(report.counts().items()))
        console.print(f"[bold]cost[/] {cost.get('episodes', 0):,.0f} episodes played, {cost.get('calls', 0):,.0f} "
                      f"calls, {cost.get('tokens', 0):,.0f} tokens, {cost['wall_seconds'] / 60:.1f} min · "
                      f"candidates: {counts}", highlight=False)
        console.print(f"[dim]best design: {report.out / 'designs' / (best.design.id + '.yaml')}[/]", highlight=False)
    if plot:
        path = plot_front(reports, reports[0].out / "front.png" if len(reports) == 1 else Path("search-front.png"))
        console.print(f"plot: {path}", highlight=False)
    return 0
