"""``run_eval``: an evaluation, or a learning run, as one library call.

It selects the tasks, prepares the player (the model and the workflow graph, with one expert demonstration
per task type played on the training split; or the reference policy), opens the experience memory, plays K
episodes at once, appends each finished one to ``OUT/episodes.jsonl`` and, when learning, distils the
memory. ``on_record(record)`` receives each ``EpisodeRecord`` once it is written; ``on_event(task_id,
event)`` every event of every episode as it happens, and the run's own (``task_id`` ``None``: ``Phase``,
``RunStarted``, ``Distilled``; see ``agentkit.experiments.events``). A callback that raises is logged once
and the run goes on. A killed run resumes (``resume=True``) with the same settings, skipping what finished.

Example:
    >>> import asyncio, tempfile
    >>> from agentkit.envs.webshop.server import serving
    >>> with serving() as url:
    ...     config = EvalConfig(env="webshop", env_options={"url": url, "goals": 2}, max_steps=2,
    ...                         model="scripted:Thought: buy.\\\\nAction: click[Buy Now]")
    ...     result = asyncio.run(run_eval(config, out=tempfile.mkdtemp()))
    >>> [r.task_id for r in result.records], result.won, result.records[0].stop_reason
    (['0', '1'], 0, 'step limit reached (2 steps)')
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.envs.base import ThreadedEnv
from agentkit.envs.eval import EpisodeLog, select_tasks
from agentkit.envs.registry import ENVS, make_env, options_of
from agentkit.errors import UserError
from agentkit.experiments.config import RESUMABLE, ConfigError, EvalConfig
from agentkit.experiments.events import Distilled, Phase, PhaseDone, RunStarted
from agentkit.experiments.executors import LocalExecutor
from agentkit.experiments.harness import Callbacks, OnEvent, OnRecord, Play, server_failed
from agentkit.experiments.players import AgentPlayer, ExpertPlayer, demonstrations
from agentkit.experiments.problems import ProblemEnv, SolverPlayer
from agentkit.experiments.records import EpisodeRecord
from agentkit.workflows.tasks import get_task

__all__ = ["PlayerRecipe", "RunResult", "default_folder", "run_eval"]


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a run played.

    Attributes:
        out: the run folder (``episodes.jsonl``, ``config.json``).
        config: the config as run: split, step cap and ``tasks`` resolved.
        records: the selected tasks' records, in the order they finished (a resumed run's earlier ones too).
        already_done: the records the folder held when the run opened.
    """

    out: Path
    config: EvalConfig
    records: list[EpisodeRecord]
    already_done: int = 0

    @property
    def won(self) -> int:
        return sum(r.won for r in self.records)

    @property
    def success(self) -> float:
        """The share of episodes won (errors count as lost)."""
        return self.won / len(self.records) if self.records else 0.0

    @property
    def errors(self) -> int:
        return sum(r.error is not None for r in self.records)


def default_folder(config: EvalConfig) -> Path:
    """``runs/ENV-SPLIT-POLICY-TIME`` (``runs/learn-ENV-…`` when learning; ``runs/TASK-…`` for a reasoning
    task), under the current directory."""
    where = config.env or (config.task or "").partition("?")[0]
    prefix = f"learn-{where}" if config.learn else where
    policy = config.workflow if config.policy == "agent" else "expert"
    return Path(f"runs/{prefix}-{config.split}-{policy}-{time.strftime('%Y%m%d-%H%M%S')}")


async def run_eval(config: EvalConfig, *, out: str | Path | None = None, resume: bool = False,
                   on_record: OnRecord | None = None, on_event: OnEvent | None = None,
                   executor: Any = None) -> RunResult:
    """Run ``config``'s episodes into the run folder ``out`` (default: ``default_folder``), on ``executor``
    (``agentkit.experiments.executors``: this process by default, or a Ray cluster).

    Raises:
        UserError: a folder that holds another run (or one with other settings, on resume), no episodes
            selected, a model or environment that cannot be loaded; ``ModelServerError`` when the model
            server stays down (the episodes in flight when it died are recorded as errors, and a resumed
            run plays them again). Finished episodes are kept either way.
    """
    notify = Callbacks(on_record, on_event)
    try:
        return await _run(config, out, resume, notify, executor or LocalExecutor())
    finally:
        notify.close()


async def _run(config: EvalConfig, out: str | Path | None, resume: bool, notify: Callbacks,
               executor: Any) -> RunResult:
    executor.check(config)
    env_options = dict(config.env_options)
    if config.task is not None:
        task = get_task(config.task)
        split, demo_split, max_steps = config.split or "all", None, None

        def make() -> ThreadedEnv:
            return ProblemEnv(task, split)
    else:
        spec = ENVS[config.env]
        split = config.split or ((spec.demo_split or spec.default_split) if config.learn else spec.default_split)
        demo_split, max_steps = spec.demo_split, config.max_steps or spec.max_steps
        if config.policy == "expert" and "expert" in options_of(config.env):
            env_options.setdefault("expert", "planner")  # the engine's planner: it wins every game

        def make() -> ThreadedEnv:
            return make_env(config.env, split, **env_options)

    tasks = await _select(make, config, split)
    resolved = dataclasses.replace(config, split=config.split if config.task else split, tasks=tuple(tasks),
                                   limit=None, per_type=None, max_steps=max_steps)
    folder = Path(out) if out is not None else default_folder(resolved)
    log = EpisodeLog(folder)
    done = log.start(resolved.to_json(), resume=resume, defaults=EvalConfig.defaults(), resumable=RESUMABLE)
    if resume and log.drop(server_failed):  # episodes a dead server cost are played again
        done = log.load()
    wanted = set(tasks)
    async with _Session(resolved, folder, env_options, notify) as session:
        await session.prepare(demo_split, build=executor.local)
        finished = [r for r in done if r["task_id"] in wanted]
        notify.event(None, RunStarted(
            env=resolved.env or resolved.task, split=split, policy=resolved.workflow or "expert", model=session.model_name,
            episodes=len(tasks), finished=len(finished), won=sum(bool(r.get("won")) for r in finished),
            already_done=len(done), concurrency=resolved.concurrency, out=str(folder), memory=resolved.memory,
            memory_records=session.memory_records, frozen=resolved.frozen))
        every = resolved.distill_every if resolved.learn else None
        chunks = [tasks[i:i + every] for i in range(0, len(tasks), every)] if every else [tasks]
        for chunk in chunks:
            before = log.load()
            after = await executor.play(make, chunk, log, player=session.player, recipe=session.recipe,
                                        concurrency=resolved.concurrency, callbacks=notify)
            if resolved.learn and len(after) > len(before):  # a resumed run does not distil finished chunks again
                await session.distill()
    records = [EpisodeRecord.from_json(r) for r in log.load() if r["task_id"] in wanted]
    return RunResult(folder, resolved, records, len(done))


async def _select(make: Any, config: EvalConfig, split: str) -> list[str]:
    """The task ids the config selects (listing them may start the simulator: off the event loop). Option
    values only the simulator can check (a TextWorldExpress game, a ScienceWorld task) are refused here, by
    the first environment made, before the run folder is touched."""
    try:
        probe = await asyncio.to_thread(make)
    except ConfigError:
        raise
    except UserError as e:
        raise ConfigError(str(e).replace("{", "{{").replace("}", "}}"), "env_options") from None
    try:
        tasks = await asyncio.to_thread(select_tasks, probe, limit=config.limit, per_type=config.per_type,
                                        tasks=config.tasks)
    finally:
        await probe.close()
    if not tasks:
        raise ConfigError(f"No episodes selected from {config.env or config.task} {split}; check {{0}}/{{1}}/{{2}}.", "tasks",
                          "limit", "per_type")
    return tasks


@dataclass
class PlayerRecipe:
    """How to build a run's player wherever episodes play (this process, or each Ray worker): the resolved
    config and the demonstrations the driver played. ``model_options`` override the spec's options (a worker
    sets its thread count)."""

    config: EvalConfig
    demos: dict[str, str] | None = None

    async def build(self, on_event: OnEvent, *, memory: Any = None, phase: Any = None,
                    model_options: dict[str, Any] | None = None) -> tuple[Play, Any]:
        """The player and the model it holds (``None`` for the expert), the model loaded."""
        config = self.config
        if config.policy == "expert":
            return ExpertPlayer(max_steps=config.max_steps or 100, memory=memory, on_event=on_event), None
        from agentkit.models.registry import load_model
        from agentkit.workflows.registry import build_workflow

        task = get_task(config.task) if config.task is not None else None
        if task is not None:
            graph = build_workflow(config.workflow, **{**config.builder_options(), "task": task})
        else:
            options = config.builder_options(demos=self.demos is not None)
            if "demos" in options:
                options["demos"] = self.demos
            graph = build_workflow(config.workflow, **options)
        model = load_model(config.model, **(model_options or {}))
        try:
            with (phase or _no_phase)("load_model", f"Loading {model.name}…"):
                await model.load()
        except BaseException:
            await model.aclose()
            raise
        common = dict(workflow=config.workflow, temperature=config.temperature, seed=config.seed,
                      prompts=config.prompts, memory=memory, limits=config.limits, on_event=on_event)
        if task is not None:
            return SolverPlayer(graph, model, task, max_tokens=config.max_tokens or 512, **common), model
        return AgentPlayer(graph, model, max_tokens=config.max_tokens, **common), model


@contextlib.contextmanager
def _no_phase(name: str, text: str) -> Iterator[None]:
    yield


class _Session:
    """What a run holds open: the memory, the model, the player; closed at the end whatever happens."""

    def __init__(self, config: EvalConfig, out: Path, env_options: dict[str, Any], notify: Callbacks) -> None:
        self.config, self.out, self.env_options, self.notify = config, out, env_options, notify
        self.model: Any = None
        self.memory: Any = None
        self.player: Play | None = None
        self.recipe: PlayerRecipe | None = None

    async def __aenter__(self) -> _Session:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.model is not None:
            await self.model.aclose()
        if self.memory is not None:
            self.memory.close()

    @property
    def model_name(self) -> str | None:
        return self.model.name if self.model is not None else None

    @property
    def memory_records(self) -> int:
        return self.memory.store.count() if self.memory is not None else 0

    @contextlib.contextmanager
    def phase(self, name: str, text: str) -> Iterator[None]:
        self.notify.event(None, Phase(name, text))
        started = time.perf_counter()
        try:
            yield
        finally:
            self.notify.event(None, PhaseDone(name, time.perf_counter() - started))

    async def prepare(self, demo_split: str | None, *, build: bool = True) -> None:
        """Open the memory, play the demonstrations, and (``build``: when episodes play in this process)
        build the player; ``recipe`` builds it anywhere else."""
        config = self.config
        if config.memory:
            from agentkit.memory.experience import Memory

            self.memory = Memory(config.memory, embedder=config.embedder, frozen=config.frozen)
        demos = None
        if config.policy == "agent" and config.task is None and "demos" in config.builder_options(
                demos=demo_split is not None):
            demos = await self._demos(demo_split)
        self.recipe = PlayerRecipe(config, demos)
        if build:
            self.player, self.model = await self.recipe.build(self.notify.event, memory=self.memory,
                                                              phase=self.phase)

    async def _demos(self, split: str | None) -> dict[str, str]:
        cache = self.out / "demos.json"
        options = dict(self.env_options)
        if "expert" in options_of(self.config.env):  # the explorer: its demos search as the agent must (and fast)
            options.setdefault("expert", "handcoded")

        def make() -> ThreadedEnv:
            return make_env(self.config.env, split, **options)

        if cache.exists():  # a resumed run shows the demonstrations it started with
            return await demonstrations(make, cache)
        with self.phase("demos", f"Playing the expert on {self.config.env} {split} for demonstrations…"):
            return await demonstrations(make, cache)

    async def distill(self) -> None:
        """After learning episodes: concepts from where things were seen, and (with a model) insights."""
        from agentkit.memory import distill

        env = self.config.env
        with self.phase("distill", "Distilling the memory…"):
            concepts = await asyncio.to_thread(distill.location_concepts, self.memory, env=env)
            counts: dict[str, int] = {}
            if self.model is not None:
                counts = await distill.distill_insights(self.memory, self.model, env=env)
                concepts += len(await distill.distill_concepts(self.memory, self.model, env=env))
        self.notify.event(None, Distilled(concepts, counts))
