"""``agentkit memory``: look into, move and tidy an experience memory."""

from __future__ import annotations

import argparse
import json
from typing import Any

from agentkit.errors import UserError

__all__ = ["MEMORY_EXAMPLES", "add_memory_arguments", "memory_command"]

MEMORY_EXAMPLES = """examples:
  agentkit memory stats --memory mem/coin
  agentkit memory search "find the coin behind a door" --kind trajectory -k 3 --memory mem/coin
  agentkit memory show 12 --memory mem/coin
  agentkit memory pin 31 --memory mem/coin                # an insight always recalled (unpin 31 undoes it)
  agentkit memory export mem.jsonl --memory mem/coin      # and: agentkit memory import mem.jsonl --memory other
  agentkit memory distill -m qwen-1.5b --env textworld_express --memory mem/coin
  agentkit memory prune --failures-older-than 30 --keep-per-task 3 --memory mem/coin
  agentkit memory rebuild --memory mem/coin               # re-embed everything (e.g. after --embedder changes)
"""


def add_memory_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["stats", "search", "show", "pin", "unpin", "export", "import", "prune",
                                           "distill", "rebuild"])
    parser.add_argument("target", nargs="?", help="search: the text; show/pin/unpin: a record id; export/import: "
                                                  "a file")
    parser.add_argument("--memory", metavar="PATH", help="the memory folder (default: $AGENTKIT_MEMORY, else the "
                                                          "user cache)")
    parser.add_argument("--embedder", help="sentence-transformers model (default all-MiniLM-L6-v2)")
    parser.add_argument("--kind", default="trajectory",
                        choices=["trajectory", "reflection", "insight", "concept"], help="search: which records")
    parser.add_argument("-k", type=int, default=5, help="search: how many")
    parser.add_argument("--env", help="search/distill: only this environment's records (e.g. alfworld)")
    parser.add_argument("--failures-older-than", type=float, metavar="DAYS", help="prune: failed trajectories older")
    parser.add_argument("--keep-per-task", type=int, metavar="N", help="prune: newest N trajectories per task "
                                                                        "and outcome")


async def memory_command(args: argparse.Namespace) -> int:
    from rich.console import Console

    from agentkit.memory.experience import Memory
    from agentkit.paths import default_memory

    console = Console()
    path = args.memory or str(default_memory())
    needs = {"search": "the text to search for", "show": "a record id", "pin": "an insight id", "unpin": "an insight id",
             "export": "a file to write",
             "import": "a file to read"}
    if args.action in needs and not args.target:
        raise UserError(f"memory {args.action} needs {needs[args.action]}: agentkit memory {args.action} TARGET.")
    exists = (__import__("pathlib").Path(path) / "memory.sqlite").exists()
    if args.action not in ("import",) and not exists:
        raise UserError(f"No memory at {path}. Make one with `agentkit learn --memory {path}` or pass --memory.")
    with Memory(path, embedder=args.embedder) as memory:
        if args.action == "stats":
            _stats(console, memory)
        elif args.action == "search":
            _search(console, memory, args)
        elif args.action == "show":
            if not args.target.isdigit() or (record := memory.get(int(args.target))) is None:
                raise UserError(f"No record {args.target!r} in {path}; `agentkit memory search` shows ids.")
            console.print_json(json.dumps(record.to_json(), ensure_ascii=False))
        elif args.action in ("pin", "unpin"):
            if not args.target.isdigit():
                raise UserError(f"memory {args.action} takes an insight's id, not {args.target!r}.")
            record = memory.pin(int(args.target), args.action == "pin")
            console.print(f"insight {record.id} {'pinned' if record.pinned else 'unpinned'}: {record.text}",
                          highlight=False)
        elif args.action == "export":
            console.print(f"exported {memory.export(args.target)} records to {args.target}")
        elif args.action == "import":
            console.print(f"imported {memory.import_(args.target)} records into {path}")
        elif args.action == "prune":
            if args.failures_older_than is None and args.keep_per_task is None:
                raise UserError("memory prune needs --failures-older-than DAYS and/or --keep-per-task N.")
            gone = memory.prune(failures_older_than_days=args.failures_older_than, keep_per_task=args.keep_per_task)
            console.print(f"deleted {gone} trajectories (and their reflections)")
        elif args.action == "distill":
            await _distill(console, memory, args)
        else:
            memory.rebuild()
            console.print(f"re-embedded {memory.store.count()} records with {memory.embedder.name}")
    return 0


def _stats(console: Any, memory: Any) -> None:
    from rich.table import Table

    stats = memory.stats()
    table = Table(title=f"memory {stats['path']}")
    table.add_column("records")
    table.add_column("count", justify="right")
    for kind, count in stats["records"].items():
        table.add_row(kind, str(count))
    console.print(table)
    by_env = ", ".join(f"{env} {n}" for env, n in stats["by_env"].items()) or "-"
    console.print(f"trajectories: {stats['successes']} successes, {stats['failures']} failures ({by_env}); "
                  f"embedder {stats['embedder']}", highlight=False)
    strongest = sorted(memory.store.list("insight"), key=lambda r: -r.strength)[:5]
    if strongest:
        console.print("strongest insights:\n" + "\n".join(f"  [{r.strength}] {r.text}" for r in strongest),
                      highlight=False)


def _search(console: Any, memory: Any, args: argparse.Namespace) -> None:
    from rich.table import Table

    table = Table(title=f"{args.kind} records nearest to {args.target!r}")
    for column in ("id", "score", "record"):
        table.add_column(column)
    for record, score in memory.search(args.target, kind=args.kind, k=args.k, env=args.env):
        if args.kind == "trajectory":
            text = f"{'won' if record.won else 'lost'} · {record.task} ({len(record.steps)} steps, {record.source})"
        elif args.kind == "insight":
            text = f"[{record.strength}] {record.text}"
        else:
            text = record.key
        table.add_row(str(record.id), f"{score:.3f}", text)
    console.print(table)


async def _distill(console: Any, memory: Any, args: argparse.Namespace) -> None:
    from agentkit.memory import distill
    from agentkit.models.registry import load_model

    model = load_model(args.model)
    try:
        with console.status(f"Distilling with {model.name}…"):
            counts = await distill.distill_insights(memory, model, env=args.env)
            concepts = 0
            for env in [args.env] if args.env else list(memory.store.outcomes()):
                concepts += distill.location_concepts(memory, env=env)
                concepts += len(await distill.distill_concepts(memory, model, env=env))
    finally:
        await model.aclose()
    done = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "no changes"
    console.print(f"insights: {done}; concepts written: {concepts}")
