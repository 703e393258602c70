"""Agent-system search: evolve designs on a target, every rollout cached, measured on held-out episodes.

Strategies:

* ``evolve``: an archive of every evaluated design; a parent is drawn from the Pareto front of validation
  success vs tokens per episode; an operator (``experiments/operators.py``) makes a child; the child is
  first scored on a small batch of search-part episodes that its parent is scored on too, and promoted to
  the full validation part only if it does at least as well there (paired racing).
* ``random``: the control. Each child is the seed design with one to three random basic operators applied
  (no archive, no proposer), raced and promoted the same way.

The result is the non-dominated set on validation (success up, tokens per episode down). Budgets count
episodes actually played (cache hits are free), model calls, tokens and wall time; the search stops cleanly
before a candidate that could overrun one. Everything is in the run folder: ``search.json`` (the settings,
compared on ``resume``), ``archive.jsonl`` (one line per candidate, also the discarded ones),
``designs/ID.yaml``, and run_eval folders under ``episodes/``; the episode cache is shared by the searches
of one parent folder (``episode-cache.sqlite`` beside it), so three searches pay for the seed design once.

Example (from Python):
    >>> import asyncio
    >>> from agentkit.experiments.designs import load_design
    >>> config = SearchConfig(target="gsm8k", seed_design=load_design("examples/designs/gsm8k-cot.yaml"),
    ...                       budget=Budget(episodes=300), strategy="evolve")  # doctest: +SKIP
    >>> result = asyncio.run(run_search(config, out="runs/search-a"))  # doctest: +SKIP
    >>> result.best.design.id, result.best.validation.success  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentkit.errors import ModelServerError, UserError
from agentkit.experiments import operators as ops
from agentkit.experiments.cache import EpisodeCache, Key, model_fingerprint
from agentkit.experiments.designs import Design, DesignError
from agentkit.experiments.harness import server_failed
from agentkit.experiments.records import EpisodeRecord
from agentkit.experiments.run import run_eval
from agentkit.experiments.targets import Target, get_target

__all__ = ["Budget", "Candidate", "Score", "SearchConfig", "SearchProgress", "SearchResult", "pareto_front",
           "run_search", "score_design"]

Strategy = Literal["evolve", "random"]


@dataclass(frozen=True, slots=True)
class Budget:
    """What a search may spend (``None``: no limit on that)."""

    episodes: int | None = None
    calls: int | None = None
    tokens: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("episodes", "calls", "tokens", "seconds"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
                raise UserError(f"The search budget's {name} must be positive, not {value!r}: a search with "
                                "nothing to spend would evaluate nothing.")
        if all(getattr(self, n) is None for n in ("episodes", "calls", "tokens", "seconds")):
            raise UserError("Give the search a budget: episodes, calls, tokens or seconds (--budget-episodes N).")


@dataclass(frozen=True, slots=True)
class Score:
    """A design's result on some episodes."""

    n: int
    won: int
    tokens: float
    seconds: float
    calls: float

    @property
    def success(self) -> float:
        return self.won / self.n if self.n else 0.0

    @classmethod
    def of(cls, records: Sequence[EpisodeRecord]) -> Score:
        n = len(records)
        mean = (lambda xs: sum(xs) / n if n else 0.0)
        return cls(n, sum(bool(r.won) for r in records), mean([r.tokens.get("total", 0) for r in records]),
                   mean([r.seconds or 0.0 for r in records]), mean([r.calls for r in records]))

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "won": self.won, "success": round(self.success, 4), "tokens": round(self.tokens, 1),
                "seconds": round(self.seconds, 2), "calls": round(self.calls, 2)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Score:
        return cls(data["n"], data["won"], data["tokens"], data["seconds"], data["calls"])


@dataclass(slots=True)
class Candidate:
    """One archive line: a design (or a discarded attempt), how it was made and how it did."""

    iteration: int
    status: str  # seed, promoted, raced out, invalid, duplicate
    operator: str
    design: Design | None = None
    parents: list[str] = field(default_factory=list)
    batch: dict[str, Any] | None = None
    validation: Score | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "status": self.status, "operator": self.operator,
                "id": self.design.id if self.design else None, "parents": self.parents,
                "design": dict(self.design.data) if self.design else None, "batch": self.batch,
                "validation": self.validation.to_json() if self.validation else None, "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Candidate:
        return cls(data["iteration"], data["status"], data["operator"],
                   Design.from_data(data["design"]) if data.get("design") else None, data.get("parents", []),
                   data.get("batch"), Score.from_json(data["validation"]) if data.get("validation") else None,
                   data.get("reason", ""))


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """One search.

    Attributes:
        target: ``gsm8k`` or ``twx:GAME``; sizes: its parts' sizes (search, validation, test).
        seed_design: where the search starts (scored first, on validation).
        strategy: ``evolve`` or ``random``.
        budget: what it may spend.
        model: the spec of the model every design runs on; proposer_model: the model that writes
            reflective rewrites (default: ``model``).
        seed: seeds the search's choices; episode_seed: every episode's sampling seed (one for all searches,
            so independent searches share what they both evaluate).
        batch: racing batch size (search-part episodes).
        concurrency: episodes at once; memory: a memory folder designs with recall read (frozen).
    """

    target: str
    seed_design: Design
    budget: Budget
    strategy: Strategy = "evolve"
    model: str | None = None
    proposer_model: str | None = None
    seed: int = 0
    episode_seed: int = 0
    batch: int = 8
    sizes: tuple[int, int, int] = (40, 100, 200)
    concurrency: int = 1
    memory: str | None = None

    def __post_init__(self) -> None:
        if self.strategy not in ("evolve", "random"):
            raise UserError(f"Unknown search strategy {self.strategy!r}; use evolve or random.")
        if self.batch < 1 or self.batch > self.sizes[0]:
            raise UserError(f"The racing batch ({self.batch}) must be between 1 and the search part's size "
                            f"({self.sizes[0]}).")

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "seed_design": self.seed_design.id, "strategy": self.strategy,
                "budget": dataclasses.asdict(self.budget), "model": self.model, "proposer_model": self.proposer_model,
                "seed": self.seed, "episode_seed": self.episode_seed, "batch": self.batch, "sizes": list(self.sizes),
                "memory": self.memory}


@dataclass(frozen=True, slots=True)
class SearchProgress:
    """Sent after each candidate: how far the search is."""

    candidates: int
    promoted: int
    best: float | None
    spent: dict[str, float]
    budget: Budget
    last: Candidate | None = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    out: Path
    archive: list[Candidate]
    front: list[Candidate]
    spent: dict[str, float]
    stopped: str

    @property
    def best(self) -> Candidate:
        """The front's most successful design on validation (ties: fewer tokens)."""
        return max(self.front, key=lambda c: (c.validation.success, -c.validation.tokens))  # type: ignore[union-attr]


def pareto_front(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The scored candidates no other beats on both validation success (higher) and tokens (lower).

    Example:
        >>> s = lambda won, tok: Score(10, won, tok, 1.0, 1.0)
        >>> a, b, c = (Candidate(i, "promoted", "x", validation=v) for i, v in enumerate([s(6, 100), s(7, 300), s(5, 200)]))
        >>> [x.iteration for x in pareto_front([a, b, c])]
        [0, 1]
    """
    scored = [c for c in candidates if c.validation is not None]
    front: list[Candidate] = []
    for c in scored:
        v = c.validation
        dominated = any(o.validation.success >= v.success and o.validation.tokens <= v.tokens  # type: ignore[union-attr]
                        and (o.validation.success > v.success or o.validation.tokens < v.tokens)  # type: ignore[union-attr]
                        for o in scored if o is not c)
        repeated = c.design is not None and any(f.design is not None and f.design.id == c.design.id for f in front)
        if not dominated and not repeated:
            front.append(c)
    return front


class _BudgetSpent(Exception):
    pass


class _Scorer:
    """Plays a design's episodes through ``run_eval``, only those the cache lacks, and keeps every result in it.

    ``run_id`` tags what this scorer paid for, so a search's spending is the cache's rows under it.
    """

    def __init__(self, target: Target, cache: EpisodeCache, out: Path, *, run_id: str, model: str | None,
                 episode_seed: int, concurrency: int, memory: str | Path | None, executor: Any = None) -> None:
        self.target, self.cache, self.out, self.run_id = target, cache, out, run_id
        self.executor = executor
        self.model, self.episode_seed, self.concurrency, self.memory = model, episode_seed, concurrency, memory
        self.model_id = model_fingerprint(model)
        self.hits = 0

    def key(self, design: Design) -> Key:
        memory = "none"
        if design.data["memory"]["recall"] and self.memory:
            memory = _memory_snapshot(self.memory)
        return Key(design.id, self.model_id, self.target.name, self.episode_seed, memory)

    def missing(self, design: Design, ids: Sequence[str]) -> list[str]:
        """The episodes of ``ids`` the cache does not hold for ``design``: what scoring it would play."""
        cached = self.cache.lookup(self.key(design), ids)
        return [i for i in ids if i not in cached]

    async def score(self, design: Design, part: str, ids: Sequence[str]) -> tuple[Score, list[EpisodeRecord]]:
        key = self.key(design)
        missing = self.missing(design, ids)
        self.hits += len(ids) - len(missing)
        if missing:
            settings = self.target.run_settings(part, missing)
            config = design.eval_config(**settings, model=self.model, concurrency=self.concurrency,
                                        seed=self.episode_seed,
                                        **({"memory": self.memory} if key.memory != "none" else {}))
            digest = hashlib.sha256(" ".join(missing).encode()).hexdigest()[:8]
            folder = self.out / "episodes" / f"{design.id}-{part}-{digest}"
            for _ in range(2):  # an episode the model server failed says nothing of the design: play it again
                result = await run_eval(config, out=folder, resume=folder.exists(), executor=self.executor,
                                        on_record=lambda r: self._keep(key, r))
                for record in result.records:  # one the log kept but a kill kept from the cache
                    self._keep(key, record)
                lost = [r for r in result.records if server_failed(r)]
                if not lost:
                    break
            else:
                raise ModelServerError(f"The model server failed {len(lost)} of design {design.id}'s episodes "
                                       f"twice (the last: {lost[-1].error}); nothing it failed is scored. Start "
                                       "the server again and rerun the search with --resume.")
        records = list(self.cache.lookup(key, ids).values())
        return Score.of(records), records

    def _keep(self, key: Key, record: EpisodeRecord) -> None:
        if not server_failed(record):  # never cached: it would count as the design's loss for good
            self.cache.put(key, record, run=self.run_id)


class _Search:
    def __init__(self, config: SearchConfig, out: Path, target: Target, cache: EpisodeCache,
                 on_progress: Callable[[SearchProgress], Any] | None, executor: Any = None) -> None:
        self.config, self.out, self.target, self.cache = config, out, target, cache
        self.on_progress = on_progress
        self.run_id = f"{out.resolve()}"
        self.scorer = _Scorer(target, cache, out, run_id=self.run_id, model=config.model,
                              episode_seed=config.episode_seed, concurrency=config.concurrency, memory=config.memory,
                              executor=executor)
        self.archive: list[Candidate] = []
        self.started = time.monotonic()
        self.seconds_before = 0.0
        self.hits_before = 0  # cache hits of the run this one resumes
        self.proposer: Any = None
        self.extra = {"proposer_calls": 0, "proposer_tokens": 0, "cache_hits": 0}
        self.missing, self.score = self.scorer.missing, self.scorer.score

    # --- cost ------------------------------------------------------------------------------------------
    def spent(self) -> dict[str, float]:
        """Episodes played (and their calls, tokens), the proposer's calls and tokens, cache hits, wall time."""
        paid = self.cache.spent(self.run_id)
        self.extra["cache_hits"] = self.hits_before + self.scorer.hits
        return {**paid, "calls": paid["calls"] + self.extra["proposer_calls"],
                "tokens": paid["tokens"] + self.extra["proposer_tokens"], **self.extra,
                "wall_seconds": round(self.seconds_before + time.monotonic() - self.started, 1)}

    def _check(self, episodes_needed: int) -> None:
        """Stop before work that would overrun a budget (``episodes_needed``: the episodes it would play)."""
        b, s = self.config.budget, self.spent()
        if b.episodes is not None and (s["episodes"] + episodes_needed > b.episodes or s["episodes"] >= b.episodes):
            raise _BudgetSpent(f"episode budget: {int(s['episodes'])} of {b.episodes} played"
                               + (f", the next candidate needs {episodes_needed}" if episodes_needed else ""))
        for name, limit in (("calls", b.calls), ("tokens", b.tokens)):
            if limit is not None and s[name] >= limit:
                raise _BudgetSpent(f"{name} budget spent ({int(s[name])} of {limit})")
        if b.seconds is not None and s["wall_seconds"] >= b.seconds:
            raise _BudgetSpent(f"time budget spent ({s['wall_seconds']:.0f} of {b.seconds:.0f} s)")

    # --- the loop --------------------------------------------------------------------------------------
    def _write(self, candidate: Candidate) -> None:
        self.archive.append(candidate)
        with (self.out / "archive.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(candidate.to_json()) + "\n")
        if candidate.design is not None:
            path = self.out / "designs" / f"{candidate.design.id}.yaml"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                _write_atomic(path, candidate.design.to_yaml())
        spent = self.spent()
        state = {"wall_seconds": spent["wall_seconds"], **self.extra}
        _write_atomic(self.out / "state.json", json.dumps(state))
        if self.on_progress is not None:
            scored = [c.validation.success for c in self.archive if c.validation is not None]
            self.on_progress(SearchProgress(len(self.archive), sum(c.status == "promoted" for c in self.archive),
                                            max(scored) if scored else None, self.spent(), self.config.budget,
                                            candidate))

    async def run(self) -> str:
        validation = self.target.parts["validation"].ids
        try:
            if not self.archive:
                self._check(len(self.missing(self.config.seed_design, validation)))
                score, _ = await self.score(self.config.seed_design, "validation", validation)
                self._write(Candidate(0, "seed", "seed", self.config.seed_design, validation=score))
            while True:
                iteration = len(self.archive)
                self._check(0)
                await self.step(iteration, random.Random(f"{self.config.seed}-{self.config.strategy}-{iteration}"),
                                validation)
        except _BudgetSpent as e:
            return str(e)

    async def step(self, iteration: int, rng: random.Random, validation: list[str]) -> None:
        """One candidate: the parent plays a racing batch of search episodes (its failures there are what a
        reflective rewrite reads), a child is made, plays the same batch, and is promoted to validation if it
        wins at least as many."""
        front = pareto_front(self.archive)
        parent = self.archive[0] if self.config.strategy == "random" else rng.choice(front)
        assert parent.design is not None
        batch = sorted(rng.sample(self.target.parts["search"].ids, self.config.batch))
        self._check(len(self.missing(parent.design, batch)))
        parent_score, parent_records = await self.score(parent.design, "search", batch)
        how = "?"
        try:
            child, how = await self.propose(parent, front, rng, [r for r in parent_records if not r.won])
            child.eval_config(**self.target.run_settings("search"))  # it fits the target (demos need shots ...)
        except (ops.OperatorError, DesignError) as e:
            self._write(Candidate(iteration, "invalid", getattr(e, "operator", how), parents=[parent.design.id],
                                  reason=str(e)))
            return
        if any(c.design is not None and c.design.id == child.id for c in self.archive):
            self._write(Candidate(iteration, "duplicate", how, child, list(child.parents), reason="already evaluated"))
            return
        self._check(len(self.missing(child, batch)) + len(self.missing(child, validation)))  # if it is promoted
        child_score, _ = await self.score(child, "search", batch)
        raced = {"ids": batch, "child": child_score.to_json(), "parent": parent_score.to_json(),
                 "parent_id": parent.design.id}
        if child_score.won < parent_score.won:
            self._write(Candidate(iteration, "raced out", how, child, list(child.parents), raced))
            return
        score, _ = await self.score(child, "validation", validation)
        self._write(Candidate(iteration, "promoted", how, child, list(child.parents), raced, score))

    async def propose(self, parent: Candidate, front: list[Candidate], rng: random.Random,
                      lost: list[EpisodeRecord]) -> tuple[Design, str]:
        design = parent.design
        assert design is not None
        memory = self.config.memory is not None
        if self.config.strategy == "random":
            child = design
            for _ in range(rng.randint(1, 3)):
                name = rng.choice(list(ops.BASIC))
                child = _operate(name, lambda: _basic(name, child, rng, memory))  # noqa: B023
            return child.derive({}, name=child.name, parents=[design.id]), "random"
        names = ["parameter", "structure", "section", "reflect", "reflect"]
        if len(front) > 1:
            names.append("crossover")
        if memory and design.acting:
            names.append("rules")
        name = rng.choice(names)
        if name in ops.BASIC:
            return _operate(name, lambda: _basic(name, design, rng, memory)), name
        if name == "crossover":
            other = rng.choice([c for c in front if c.design.id != design.id])
            return _operate(name, lambda: ops.crossover(design, other.design, rng)), name
        if name == "rules":
            return _operate(name, lambda: ops.rules(design, _insights(self.config.memory))), name
        failures = [_failure(r) for r in lost]
        proposer = await self.load_proposer()
        try:
            return await ops.reflect(design, rng, proposer, failures), name
        except (ops.OperatorError, DesignError) as e:
            e.operator = name  # type: ignore[attr-defined]
            raise

    async def load_proposer(self) -> Any:
        if self.proposer is None:
            from agentkit.models.registry import load_model

            self.proposer = _Metered(load_model(self.config.proposer_model or self.config.model), self.extra)
            await self.proposer.model.load()
        return self.proposer


class _Metered:
    """The proposer, its calls and tokens counted into the search's spending."""

    def __init__(self, model: Any, extra: dict[str, int]) -> None:
        self.model, self.extra = model, extra

    async def generate(self, *args: Any, **kwargs: Any) -> Any:
        completion = await self.model.generate(*args, **kwargs)
        self.extra["proposer_calls"] += completion.usage.calls
        self.extra["proposer_tokens"] += completion.usage.total_tokens
        return completion

    async def aclose(self) -> None:
        await self.model.aclose()


def _write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a kill at any moment leaves the old file or the new one."""
    temp = path.with_name(f".{path.name}.tmp")
    with temp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)


def _basic(name: str, design: Design, rng: random.Random, memory: bool) -> Design:
    if name == "structure":
        return ops.structure(design, rng, memory=memory)
    return ops.BASIC[name](design, rng)


def _operate(name: str, make: Callable[[], Design]) -> Design:
    try:
        return make()
    except (ops.OperatorError, DesignError) as e:
        e.operator = name  # type: ignore[attr-defined]
        raise


def _failure(record: EpisodeRecord) -> ops.Failure:
    steps = record.trajectory or []
    if record.policy == "agent" and len(steps) == 1 and steps[0].get("thought") is not None and record.task:
        output = steps[0]["thought"] or ""
        feedback = steps[0]["observation"] or record.stop_reason or "wrong"
    else:
        output = "\n".join(f"> {s['action']}\n{s['observation']}" for s in steps[-6:])
        feedback = record.stop_reason or ("lost" if not record.won else "won")
    return ops.Failure(record.task or record.task_id, output, feedback)


def _memory_snapshot(folder: str) -> str:
    """The memory's state as the designs see it: a digest of its store file(s)."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).glob("*.sqlite*")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _insights(folder: str | None) -> list[str]:
    if folder is None:
        return []
    from agentkit.memory.experience import Memory

    memory = Memory(folder, frozen=True)
    try:
        insights = memory.store.list("insight")
    finally:
        memory.close()
    return [i.text for i in sorted(insights, key=lambda i: -i.strength)]


async def run_search(config: SearchConfig, *, out: str | Path, resume: bool = False,
                     on_progress: Callable[[SearchProgress], Any] | None = None,
                     cache: str | Path | None = None, executor: Any = None) -> SearchResult:
    """Run (or, with ``resume``, continue) a search into the folder ``out``.

    Raises:
        UserError: a folder that holds another search (or a different one, on resume), a target with no
            episodes, a design that does not fit the target.
    """
    folder = Path(out)
    settings = config.to_json()
    saved = folder / "search.json"
    if saved.exists():
        if not resume:
            raise UserError(f"{folder} already holds a search; pass --resume to continue it, or pick another --out.")
        old = json.loads(saved.read_text())
        changed = [k for k in settings if k != "budget" and old.get(k) != settings[k]]
        if changed:
            raise UserError(f"{folder} holds a search with other settings ({', '.join(changed)}); resume it with "
                            "the same ones (only the budget may change) or pick another --out.")
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(saved, json.dumps(settings, indent=1))
    target = await asyncio.to_thread(get_target, config.target, search=config.sizes[0], validation=config.sizes[1],
                                     test=config.sizes[2])  # the same parts for every search
    config.seed_design.eval_config(**target.run_settings("validation"))  # a design that does not fit fails here
    store = EpisodeCache(cache or folder.parent / "episode-cache.sqlite")
    search = _Search(config, folder, target, store, on_progress, executor)
    archive_path = folder / "archive.jsonl"
    if archive_path.exists():
        for line in archive_path.read_text(encoding="utf-8").splitlines():
            try:
                search.archive.append(Candidate.from_json(json.loads(line)))
            except (ValueError, KeyError, DesignError):
                continue  # a line cut by a kill: that candidate is simply made again
        state = folder / "state.json"
        if state.exists():
            saved_state = json.loads(state.read_text())
            search.seconds_before = saved_state.get("wall_seconds", 0.0)
            search.extra.update({k: saved_state[k] for k in search.extra if k in saved_state})
            search.hits_before = saved_state.get("cache_hits", 0)
        # drop a line a kill cut short, so the next one starts on its own line
        _write_atomic(archive_path, "".join(json.dumps(c.to_json()) + "\n" for c in search.archive))
    try:
        stopped = await search.run()
        spent = search.spent()
    finally:
        if search.proposer is not None:
            await search.proposer.aclose()
        store.close()
    return SearchResult(folder, search.archive, pareto_front(search.archive), spent, stopped)


async def score_design(design: Design, target: Target, part: str, *, model: str | None = None, seed: int = 0,
                       out: str | Path, cache: str | Path, concurrency: int = 1) -> tuple[Score, list[EpisodeRecord]]:
    """``design``'s score on a whole ``part`` of ``target`` through the same cache (the benchmark's test)."""
    store = EpisodeCache(cache)
    try:
        scorer = _Scorer(target, store, Path(out), run_id=f"{Path(out).resolve()}#{part}", model=model,
                         episode_seed=seed, concurrency=concurrency, memory=None)
        return await scorer.score(design, part, target.parts[part].ids)
    finally:
        store.close()

