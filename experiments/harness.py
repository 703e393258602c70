"""Playing many episodes, K at a time, each written to the episode log the moment it ends.

The harness knows environments, not agents: a player (``play(env, task_id) -> EpisodeRecord``) plays one
episode. Each of the K workers owns one environment for its whole life, so simulators (JVMs, game engines)
are started K times, not once per episode, and all of them are closed at the end, also on errors and
cancellation. An episode whose environment crashes is recorded with ``error`` set (and that worker gets a
fresh environment); an episode whose agent raises is recorded the same way; either way the run goes on.
An episode the model server failed (``ModelServerError``: it died, or kept answering with errors) is
recorded the same way and the run goes on, so a server that dies mid-run costs the episodes in flight,
not the run; once more episodes in a row than run at once have failed on it (``ServerWatch``: it is down,
not hiccupping), the run stops, and ``--resume`` plays those episodes again and then the rest.
Misconfiguration (``UserError``) stops the run at once (every episode would fail); what finished is kept.

Callbacks (``Callbacks``) are the faces' business: one that raises is logged once and counted, and the
run and its records go on.

Example:
    >>> import asyncio, tempfile
    >>> from agentkit.envs.base import Obs, StepResult, ThreadedEnv
    >>> from agentkit.envs.eval import EpisodeLog
    >>> class Coin(ThreadedEnv):
    ...     def task_ids(self): return ["1", "2", "3"]
    ...     def _reset(self, task_id): return Obs("A coin.", task="take the coin", admissible=["take coin"])
    ...     def _step(self, action): return StepResult("Taken.", reward=1.0, done=True, won=True)
    >>> async def greedy(env, task_id):
    ...     await env.reset(task_id)
    ...     result = await env.step("take coin")
    ...     return EpisodeRecord(task_id=task_id, won=result.won, reward=result.reward, steps=1)
    >>> log = EpisodeLog(tempfile.mkdtemp())
    >>> records = asyncio.run(play_episodes(Coin, ["1", "2", "3"], greedy, log, concurrency=2))
    >>> sorted(r["task_id"] for r in log.load()), all(r.won for r in records)
    (['1', '2', '3'], True)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from agentkit.envs.base import EnvCrashed, ThreadedEnv
from agentkit.envs.eval import EpisodeLog
from agentkit.errors import ModelServerError, UserError
from agentkit.experiments.events import EpisodeFinished, EpisodeStarted
from agentkit.experiments.records import EpisodeRecord

__all__ = ["Callbacks", "OnEvent", "OnRecord", "Play", "ServerWatch", "play_episodes", "server_failed"]

_logger = logging.getLogger("agentkit.experiments")

Play = Callable[[ThreadedEnv, str], Awaitable[EpisodeRecord]]
OnRecord = Callable[[EpisodeRecord], Any]
OnEvent = Callable[[str | None, Any], Any]


class Callbacks:
    """A run's ``on_record`` / ``on_event``, called so that a failing one cannot hurt the run: its first
    error is logged with the traceback, later ones are counted (``failures``) and summed up by ``close``."""

    def __init__(self, on_record: OnRecord | None = None, on_event: OnEvent | None = None) -> None:
        self.on_record, self.on_event = on_record, on_event
        self.failures: Counter[str] = Counter()

    def record(self, record: EpisodeRecord) -> None:
        self._call("on_record", self.on_record, record)

    def event(self, task_id: str | None, event: Any) -> None:
        self._call("on_event", self.on_event, task_id, event)

    def for_episode(self, task_id: str) -> Callable[[Any], None]:
        """``on_event`` bound to one episode."""
        return lambda event: self.event(task_id, event)

    def _call(self, name: str, fn: Callable[..., Any] | None, *args: Any) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:
            self.failures[name] += 1
            if self.failures[name] == 1:
                _logger.exception("%s raised; the run goes on and its records are still written "
                              "(later errors of %s are counted, not logged)", name, name)

    def close(self) -> None:
        for name, count in self.failures.items():
            if count > 1:
                _logger.warning("%s raised %d times in this run", name, count)


_SERVER_ERROR = f"{ModelServerError.__name__}: "


def server_failed(record: dict[str, Any] | EpisodeRecord) -> bool:
    """Whether an episode (a record or its JSON) was lost to the model server rather than played."""
    error = record.get("error") if isinstance(record, dict) else record.error
    return bool(error) and error.startswith(_SERVER_ERROR)


class ServerWatch:
    """Counts the episodes in a row the model server failed. The episodes in flight when a server dies fail
    together and the run goes on; ``limit`` in a row (more than run at once) means the episodes started
    after them failed too, so ``saw`` raises ``ModelServerError`` and the run stops with what to do."""

    def __init__(self, concurrency: int) -> None:
        self.limit, self.streak = max(1, concurrency) + 1, 0

    def saw(self, record: EpisodeRecord) -> None:
        if not server_failed(record):
            self.streak = 0
            return
        self.streak += 1
        if self.streak >= self.limit:
            raise ModelServerError(f"The model server failed {self.streak} episodes in a row, so the run stopped "
                                   f"(the last: {record.error[len(_SERVER_ERROR):][:400]}). They are recorded "
                                   "as errors; start the server again and rerun with --resume, which plays "
                                   "them again, then the rest.")


async def play_episodes(make_env: Callable[[], ThreadedEnv], task_ids: list[str], play: Play, log: EpisodeLog, *,
                        concurrency: int = 1, callbacks: Callbacks | None = None) -> list[EpisodeRecord]:
    """Play ``task_ids`` (skipping those already in ``log``), ``concurrency`` at a time; return every record
    of the run, old and new."""
    notify = callbacks or Callbacks()
    done = [EpisodeRecord.from_json(r) for r in log.load()]
    finished = {r.task_id for r in done}
    queue: asyncio.Queue[str] = asyncio.Queue()
    for task_id in task_ids:
        if task_id not in finished:
            queue.put_nowait(task_id)
    records = list(done)
    watch = ServerWatch(concurrency)

    async def worker() -> None:
        env: ThreadedEnv | None = None
        try:
            while not queue.empty():
                task_id = queue.get_nowait()
                if env is None:
                    env = await asyncio.to_thread(make_env)
                notify.event(task_id, EpisodeStarted(task_id))
                record, crashed = await _episode(env, task_id, play)
                log.append(record.to_json())
                records.append(record)
                notify.record(record)
                notify.event(task_id, EpisodeFinished(record))
                watch.saw(record)
                if crashed:
                    await _close_quietly(env)
                    env = None
        finally:
            if env is not None:
                await _close_quietly(env)

    try:
        async with asyncio.TaskGroup() as group:  # one worker failing cancels (and closes) the others
            for _ in range(max(1, min(concurrency, queue.qsize()))):
                group.create_task(worker())
    except BaseExceptionGroup as group_error:
        raise group_error.exceptions[0] from None
    return records


async def _episode(env: ThreadedEnv, task_id: str, play: Play) -> tuple[EpisodeRecord, bool]:
    started = time.perf_counter()
    crashed = False
    try:
        record = await play(env, task_id)
    except EnvCrashed as e:
        record, crashed = EpisodeRecord(task_id=task_id, error=str(e)), True
    except UserError:
        raise  # misconfiguration: every episode would fail; stop, resume later
    except ModelServerError as e:  # the server died or failed; ServerWatch stops the run if it stays down
        record = EpisodeRecord(task_id=task_id, error=f"{_SERVER_ERROR}{e}")
    except Exception as e:  # an agent bug in one episode must not end the whole run
        record = EpisodeRecord(task_id=task_id, error=f"{type(e).__name__}: {e}")
    record.task_id, record.task_type, record.env, record.split = task_id, env.task_type(task_id), env.name, env.split
    record.seconds = round(time.perf_counter() - started, 3)
    record.finished_at = time.time()
    return record, crashed


async def _close_quietly(env: ThreadedEnv) -> None:
    try:
        await env.close()
    except Exception:  # the simulator is already gone; nothing left to release
        pass
