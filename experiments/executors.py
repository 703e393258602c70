"""Where a run's episodes play: ``local`` (this process, K at a time on one event loop; the default) or
``ray`` (K Ray actors, each holding its own environment and its own player: its own model process for an
embedded model, or a client of a served endpoint such as ``agentkit serve``'s).

Either way the driver alone writes ``episodes.jsonl``: workers send each finished record back, and their
events every quarter second, so resume, ``on_record``, ``on_event`` and the reports work as they do
locally. A Ray worker that dies mid-episode (its process killed, its node lost) is replaced and the episode
is played again once on the new worker; if that worker dies too, the episode is recorded with the error. An
episode that finished is written once, when it finishes, and never played again. A model server that dies
is handled as locally (``harness.ServerWatch``): the episodes in flight are recorded as errors, and the run
stops only if the server stays down.

    agentkit eval --env twx --limit 20 --concurrency 4 --executor ray                      # a local cluster
    agentkit eval --env twx --limit 200 --concurrency 32 --executor ray --ray-address HOST:6379
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from agentkit.envs.base import ThreadedEnv
from agentkit.envs.eval import EpisodeLog
from agentkit.errors import UserError
from agentkit.experiments.events import EpisodeFinished, EpisodeStarted
from agentkit.experiments.harness import Callbacks, Play, ServerWatch, _close_quietly, _episode, play_episodes
from agentkit.experiments.records import EpisodeRecord

__all__ = ["EXECUTORS", "LocalExecutor", "RayExecutor", "get_executor"]

_POLL = 0.25  # seconds between event collections from the workers


class LocalExecutor:
    """Episodes in this process, ``concurrency`` at a time, sharing the driver's player and model."""

    name = "local"
    local = True

    def check(self, config: Any) -> None:
        """Anything this executor cannot run, refused before the run folder is touched."""

    def close(self) -> None:
        """Nothing to release."""

    async def play(self, make_env: Callable[[], ThreadedEnv], task_ids: list[str], log: EpisodeLog, *,
                   player: Play | None, recipe: Any, concurrency: int,
                   callbacks: Callbacks | None = None) -> list[EpisodeRecord]:
        assert player is not None, "the local executor plays with the driver's player"
        return await play_episodes(make_env, task_ids, player, log, concurrency=concurrency, callbacks=callbacks)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray: pip install 'agentkit[ray]' (on every node of the cluster "
                        "too).") from None
    return ray


class _Worker:
    """A Ray actor: one environment and one player, built on first use, kept for every episode it plays."""

    def __init__(self, make_env: Callable[[], ThreadedEnv], recipe: Any, threads: int | None) -> None:
        self.make_env, self.recipe, self.threads = make_env, recipe, threads
        self.env: ThreadedEnv | None = None
        self.player: Play | None = None
        self.model: Any = None
        self.memory: Any = None
        self.events: list[tuple[str | None, Any]] = []

    def pid(self) -> int:
        return os.getpid()

    def drain(self) -> list[tuple[str | None, Any]]:
        events, self.events = self.events, []
        return events

    async def _ready(self) -> ThreadedEnv:
        if self.player is None:
            config = self.recipe.config
            if config.memory:
                from agentkit.memory.experience import Memory

                self.memory = Memory(config.memory, embedder=config.embedder, frozen=True)
            options = _thread_options(config.model, self.threads)
            self.player, self.model = await self.recipe.build(lambda t, e: self.events.append((t, e)),
                                                              memory=self.memory, model_options=options)
        if self.env is None:
            self.env = await asyncio.to_thread(self.make_env)
        return self.env

    async def describe(self, task_id: str) -> dict[str, str]:
        env = await self._ready()
        return {"task_type": env.task_type(task_id), "env": env.name, "split": env.split}

    async def play(self, task_id: str) -> dict[str, Any]:
        env = await self._ready()
        record, crashed = await _episode(env, task_id, self.player)
        if crashed:
            await _close_quietly(env)
            self.env = None
        return record.to_json()

    async def close(self) -> None:
        if self.env is not None:
            await _close_quietly(self.env)
        if self.model is not None:
            await self.model.aclose()
        if self.memory is not None:
            self.memory.close()


def _reachable(address: str, timeout: float = 5.0) -> bool:
    """Whether a ``HOST:PORT`` address accepts a connection (Ray itself waits minutes on a wrong one);
    ``auto`` and ``ray://`` addresses are left to Ray."""
    import socket

    if address == "auto" or "://" in address or ":" not in address:
        return True
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def _thread_options(spec: str | None, threads: int | None) -> dict[str, Any]:
    """An embedded model in a worker gets the worker's share of the CPUs, unless its spec sets threads: two
    llama.cpp processes each using every core both slow to a crawl."""
    from agentkit.models.registry import default_spec, parse_spec

    parsed = parse_spec(spec or default_spec())
    if threads is None or parsed.backend != "llamacpp" or "n_threads" in parsed.options:
        return {}
    return {"n_threads": threads}


class RayExecutor:
    """Episodes on ``concurrency`` Ray actors.

    Args:
        address: a running cluster (``ray start --head`` prints it; ``auto`` finds one on this machine);
            ``None`` starts a local cluster on first use (with ``num_cpus`` CPUs); ``close`` stops it.
        num_cpus: the local cluster's CPUs (default: all of this machine's).
        cpus_per_worker: what each actor reserves (default: the cluster's CPUs over ``concurrency``); an
            embedded model in a worker uses that many threads.
        runtime_env: Ray's runtime environment for the workers on a remote cluster (e.g. ``{"pip":
            ["agentkit[envs]"]}``; see the README).
        retries: how many times an episode whose worker died is played again on a new worker.
    """

    name = "ray"
    local = False

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None,
                 cpus_per_worker: float | None = None, runtime_env: dict[str, Any] | None = None,
                 retries: int = 1) -> None:
        self.address, self.num_cpus, self.cpus_per_worker = address, num_cpus, cpus_per_worker
        self.runtime_env, self.retries = runtime_env, retries
        self._started = False

    def check(self, config: Any) -> None:
        """Anything this executor cannot run, refused before the run folder is touched."""
        _ray()
        if config.memory and not config.frozen:
            raise UserError("A run on Ray reads its memory (--frozen) but cannot write it: workers on many "
                            "machines cannot share one SQLite and FAISS store. Learn with --executor local.")

    def _start(self, ray: Any) -> bool:
        """Connect to (or start) the cluster; whether this call started it."""
        if ray.is_initialized():
            return False
        if self.address and not _reachable(self.address):
            raise UserError(f"Nothing answers at the Ray address {self.address}. Start a cluster there with "
                            "`ray start --head --port 6379` (it prints the address to pass), or drop "
                            "--ray-address to start a local one.")
        try:
            ray.init(address=self.address, num_cpus=self.num_cpus if self.address is None else None,
                     runtime_env=self.runtime_env, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        except (ConnectionError, TimeoutError, RuntimeError) as e:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray cluster"
            raise UserError(f"Cannot reach {where} ({e}). Start one with `ray start --head` and pass the address "
                            "it prints (--ray-address HOST:6379), or drop --ray-address to start a local "
                            "one.") from e
        return True

    async def play(self, make_env: Callable[[], ThreadedEnv], task_ids: list[str], log: EpisodeLog, *,
                   player: Play | None, recipe: Any, concurrency: int,
                   callbacks: Callbacks | None = None) -> list[EpisodeRecord]:
        ray = _ray()
        self.check(recipe.config)
        notify = callbacks or Callbacks()
        records = [EpisodeRecord.from_json(r) for r in log.load()]
        finished = {r.task_id for r in records}
        pending = deque(t for t in task_ids if t not in finished)
        if not pending:
            return records
        self._started = self._start(ray) or self._started
        return await _Driver(ray, self, make_env, recipe, log, notify, records, pending,
                             max(1, min(concurrency, len(pending)))).run()

    def close(self) -> None:
        """Stop the local cluster this executor started (one serves every run it plays: a design search's
        many evaluations start it once)."""
        if self._started:
            _ray().shutdown()
            self._started = False


class _Driver:
    """One Ray run's bookkeeping: the workers, what each plays, what is left, and the log."""

    def __init__(self, ray: Any, executor: RayExecutor, make_env: Callable[[], ThreadedEnv], recipe: Any,
                 log: EpisodeLog, notify: Callbacks, records: list[EpisodeRecord], pending: deque[str],
                 k: int) -> None:
        self.ray, self.executor, self.make_env, self.recipe = ray, executor, make_env, recipe
        self.log, self.notify, self.records, self.pending, self.k = log, notify, records, pending, k
        cpus = executor.cpus_per_worker or max(0.01, ray.cluster_resources().get("CPU", 1.0) / k)
        self.threads = max(1, int(cpus))
        self.actor = ray.remote(_Worker).options(num_cpus=cpus, max_restarts=0, max_concurrency=4)
        self.workers = [self._spawn() for _ in range(k)]
        self.running: dict[asyncio.Future[Any], tuple[int, str]] = {}
        self.deaths: Counter[str] = Counter()
        self.watch = ServerWatch(k)

    def _spawn(self) -> Any:
        return self.actor.remote(self.make_env, self.recipe, self.threads)

    def _submit(self, index: int, task_id: str) -> None:
        if not self.deaths[task_id]:
            self.notify.event(task_id, EpisodeStarted(task_id))
        future = asyncio.wrap_future(self.workers[index].play.remote(task_id).future())
        self.running[future] = (index, task_id)

    async def run(self) -> list[EpisodeRecord]:
        try:
            while self.pending or self.running:
                busy = {i for i, _ in self.running.values()}
                for index in range(self.k):
                    if index not in busy and self.pending:
                        self._submit(index, self.pending.popleft())
                done, _ = await asyncio.wait(self.running, timeout=_POLL, return_when=asyncio.FIRST_COMPLETED)
                await self._collect_events()
                for future in done:
                    await self._finish(future)
        finally:
            for future in self.running:
                future.cancel()
            await self._close_workers()
        return self.records

    async def _collect_events(self) -> None:
        for worker in self.workers:
            try:
                events = await asyncio.wrap_future(worker.drain.remote().future())
            except self.ray.exceptions.RayError:
                continue  # a dead worker: its episode's future says so
            for task_id, event in events:
                self.notify.event(task_id, event)

    async def _finish(self, future: asyncio.Future[Any]) -> None:
        index, task_id = self.running.pop(future)
        try:
            data = future.result()
        except self.ray.exceptions.RayActorError as e:
            if "creation task" in str(e):  # it never started: every new worker would fail the same way
                raise UserError(f"A Ray worker could not start: {_last_line(str(e))}. Every node needs agentkit "
                                "and what the run imports: install them there, or give the executor a "
                                "runtime_env (see the README's Ray section).") from None
            self.workers[index] = self._spawn()
            self.deaths[task_id] += 1
            if self.deaths[task_id] <= self.executor.retries:
                self.pending.appendleft(task_id)
                return
            try:
                meta = await asyncio.wrap_future(self.workers[index].describe.remote(task_id).future())
            except self.ray.exceptions.RayError:
                meta = {}
            data = EpisodeRecord(task_id=task_id, error=f"the Ray worker playing it died "
                                 f"{self.deaths[task_id]} times ({type(e).__name__})", **meta).to_json()
        except self.ray.exceptions.RayTaskError as e:
            cause = getattr(e, "cause", None)
            raise (cause if isinstance(cause, BaseException) else e) from None
        record = EpisodeRecord.from_json(data)
        self.log.append(record.to_json())
        self.records.append(record)
        self.notify.record(record)
        self.notify.event(task_id, EpisodeFinished(record))
        self.watch.saw(record)

    async def _close_workers(self) -> None:
        for worker in self.workers:
            try:
                await asyncio.wait_for(asyncio.wrap_future(worker.close.remote().future()), 60)
            except Exception:  # a dead or stuck worker: nothing left to release but its process
                pass
            self.ray.kill(worker)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text


EXECUTORS = ("local", "ray")


def get_executor(name: str = "local", *, address: str | None = None, **options: Any) -> Any:
    """An executor by name: ``local`` or ``ray`` (``address``: a running cluster's)."""
    if name == "local":
        if address is not None:
            raise UserError("--ray-address is for --executor ray.")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address, **options)
    raise UserError(f"Unknown executor {name!r}; use one of: {', '.join(EXECUTORS)}.")
