"""Search targets: what a design search is measured on, in three disjoint parts.

A target names a reasoning task or an environment and splits its episodes into ``search`` (racing batches
and the failures a reflective rewrite reads), ``validation`` (what a promoted candidate is scored on and the
final pick is made on) and ``test`` (held out: only the benchmark reads it, after the search).

* ``gsm8k``: the training split's held-out problems (never its first 500, where prompts and demonstrations
  come from), shuffled once with a fixed seed and cut into the three parts, so they never overlap.
* ``task:NAME``: the same for any reasoning task with problems (``task:arithmetic``).
* ``twx:GAME`` (``simonsays``, ``mapreader``, any TextWorldExpress game; its settings after
  ``?params=``, as in ``twx:mapreader?params=numLocations=2,maxDistanceApart=1,includeDoors=0``): search and
  validation on seeds of the training split (disjoint), test on the test split's seeds.

Example (the TextWorldExpress engine lists its seeds, so this needs Java):
    >>> t = get_target("twx:simonsays", search=4, validation=6, test=5)  # doctest: +SKIP
    >>> t.parts["validation"].split, len(t.parts["test"].ids)  # doctest: +SKIP
    ('train', 5)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from agentkit.errors import UserError

__all__ = ["PARTS", "Part", "Target", "get_target"]

PARTS = ("search", "validation", "test")


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a target: its split (environments) and episode ids."""

    ids: list[str]
    split: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """A search target (``name``: how the CLI and the cache call it)."""

    name: str
    parts: dict[str, Part]
    task: str | None = None
    env: str | None = None
    env_options: dict[str, Any] = field(default_factory=dict)

    def run_settings(self, part: str, ids: list[str] | None = None) -> dict[str, Any]:
        """``Design.eval_config`` keywords that play ``ids`` (default: the whole part) of ``part``."""
        chosen = self.parts[part]
        settings: dict[str, Any] = {"tasks": list(ids if ids is not None else chosen.ids)}
        if self.task is not None:
            return {"task": self.task, **settings}
        return {"env": self.env, "env_options": dict(self.env_options), "split": chosen.split, **settings}


def get_target(name: str, *, search: int = 40, validation: int = 100, test: int = 200, seed: int = 0) -> Target:
    """The target ``name`` (``gsm8k`` or ``twx:GAME``) with parts of these sizes. A TextWorldExpress target
    asks the engine for its seeds: from async code, call it in a thread (``asyncio.to_thread``).

    Raises:
        UserError: an unknown target, a size under 1, or parts larger than the data.
    """
    sizes = {"search": search, "validation": validation, "test": test}
    for part, size in sizes.items():
        if not isinstance(size, int) or size < 1:
            raise UserError(f"The {part} part needs at least 1 episode, not {size!r}.")
    head, _, query = name.partition("?")
    kind, _, game = head.partition(":")
    if kind == "gsm8k" and not game:
        return _task("gsm8k", "gsm8k", sizes, seed)
    if kind == "task" and game:
        return _task(name, game, sizes, seed)
    if kind in ("twx", "textworld_express") and game:
        if query and not query.startswith("params="):
            raise UserError(f"A twx target takes ?params=K=V,K=V (the game's settings), not ?{query}.")
        return _twx(name, game, query.removeprefix("params="), sizes)
    raise UserError(f"Unknown search target {name!r}; use gsm8k, twx:GAME (twx:simonsays, twx:mapreader) or "
                    "task:NAME (any reasoning task with problems, e.g. task:arithmetic).")


def _task(name: str, spec: str, sizes: dict[str, int], seed: int) -> Target:
    from agentkit.workflows.tasks import get_task

    pool = [p.id for p in get_task(spec).held_out()]
    wanted = sum(sizes.values())
    if wanted > len(pool):
        raise UserError(f"{name} has {len(pool)} held-out problems; the parts ask for {wanted}.")
    random.Random(seed).shuffle(pool)
    parts, start = {}, 0
    for part in PARTS:
        parts[part] = Part(sorted(pool[start:start + sizes[part]]))
        start += sizes[part]
    return Target(name, parts, task=spec)


def _twx(name: str, game: str, params: str, sizes: dict[str, int]) -> Target:
    import asyncio

    from agentkit.envs.registry import make_env

    def seeds(split: str, count: int) -> list[str]:
        env = make_env("textworld_express", split, games=game, episodes=count, params=params)
        try:
            ids = env.task_ids()
        finally:
            asyncio.run(env.close())
        if len(ids) < count:
            raise UserError(f"TextWorldExpress {game} has {len(ids)} {split} seeds; the parts ask for {count}.")
        return ids

    train = seeds("train", sizes["search"] + sizes["validation"])
    parts = {"search": Part(train[:sizes["search"]], "train"), "validation": Part(train[sizes["search"]:], "train"),
             "test": Part(seeds("test", sizes["test"]), "test")}
    episodes = max(sizes["search"] + sizes["validation"], sizes["test"])  # the env lists this many seeds per split
    options = {"games": game, "episodes": episodes, **({"params": params} if params else {})}
    return Target(name, parts, env="textworld_express", env_options=options)
