"""The evaluation harness: many episodes, K at a time, one JSONL line per finished episode, resumable.

The harness knows environments, not agents: ``play(env, task_id)`` is any coroutine that plays one episode
and returns its record (the CLI passes one that runs a workflow, or the environment's expert). Each of the
K workers owns one environment for its whole life, so simulators (JVMs, game engines) are started K times,
not once per episode, and all of them are closed at the end, also on errors and cancellation.

Durability: a record is written with one ``write`` of a whole line, flushed and fsynced, when its episode
finishes. ``EpisodeLog.load`` drops a torn last line (a kill -9 mid-write) and truncates the file to the last
whole record, so a resumed run neither loses a finished episode nor counts one twice. An episode whose
environment crashes is recorded with ``error`` set (and that worker gets a fresh environment); an episode
whose agent raises is recorded the same way. Either way the eval goes on. Misconfiguration (``UserError``)
and an unreachable model server stop the eval instead (every episode would fail); what finished is kept.

Example:
    >>> import asyncio, tempfile
    >>> from agentkit.envs.base import Obs, StepResult, ThreadedEnv
    >>> class Coin(ThreadedEnv):
    ...     def task_ids(self): return ["1", "2", "3"]
    ...     def _reset(self, task_id): return Obs("A coin.", task="take the coin", admissible=["take coin"])
    ...     def _step(self, action): return StepResult("Taken.", reward=1.0, done=True, won=True)
    >>> async def greedy(env, task_id):
    ...     await env.reset(task_id)
    ...     result = await env.step("take coin")
    ...     return {"won": result.won, "reward": result.reward, "steps": 1}
    >>> log = EpisodeLog(tempfile.mkdtemp())
    >>> records = asyncio.run(evaluate(Coin, ["1", "2", "3"], greedy, log, concurrency=2))
    >>> sorted(r["task_id"] for r in log.load()), all(r["won"] for r in records)
    (['1', '2', '3'], True)
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from agentkit.envs.base import EnvCrashed, ThreadedEnv
from agentkit.errors import ModelServerError, UserError

__all__ = ["EpisodeLog", "evaluate", "select_tasks"]

Play = Callable[[ThreadedEnv, str], Awaitable[dict[str, Any]]]


class EpisodeLog:
    """``DIR/episodes.jsonl`` (one record per finished episode) and ``DIR/config.json`` (the run's settings)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        self.path = self.dir / "episodes.jsonl"
        self.config_path = self.dir / "config.json"

    def load(self) -> list[dict[str, Any]]:
        """The finished episodes; a torn or corrupt last line is cut off the file (it was never finished)."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        records, good_end = [], 0
        for line in data.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break
            try:
                records.append(json.loads(line))
            except ValueError:
                if good_end + len(line) < len(data):
                    raise UserError(f"{self.path} has a corrupt record in the middle (byte {good_end}); it was not "
                                    "written by agentkit's harness. Move it away or fix that line.") from None
                break
            good_end += len(line)
        if good_end < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good_end)
        return records

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def start(self, config: dict[str, Any], *, resume: bool) -> list[dict[str, Any]]:
        """Open the run: a new one must be empty; a resumed one must have the same settings.
        Returns the episodes already finished."""
        self.dir.mkdir(parents=True, exist_ok=True)
        done = self.load()
        if self.config_path.exists():
            try:
                old = json.loads(self.config_path.read_text())
            except ValueError:
                raise UserError(f"{self.config_path} is not JSON (damaged?). Restore it, or move the folder away "
                                "and start a new run; episodes.jsonl keeps the finished episodes.") from None
            if not resume and done:
                raise UserError(f"{self.dir} already holds {len(done)} finished episodes. Pass --resume to continue "
                                "that run, or choose another --out.")
            changed = {k for k in config.keys() | old.keys() if k not in _RESUMABLE and _changed(k, old, config)}
            if resume and changed:
                raise UserError(f"Cannot resume {self.dir} with different settings ({', '.join(sorted(changed))}); "
                                "rerun with the original ones or choose another --out.")
        elif resume and not done:
            raise UserError(f"Nothing to resume in {self.dir}: it has no run. Drop --resume to start one.")
        self.config_path.write_text(json.dumps(config, indent=2) + "\n")
        return done


_RESUMABLE = {"concurrency", "resume", "out"}  # settings a resumed run may change


def _changed(key: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
    if key not in old:  # a setting newer than the run: the run had it off
        return new.get(key) not in (None, False)
    return old[key] != new.get(key)


def select_tasks(env: ThreadedEnv, *, limit: int | None = None, per_type: int | None = None,
                 tasks: Iterable[str] | None = None) -> list[str]:
    """The task ids to run: ``tasks`` if given, else the split's first ``per_type`` of each task type
    (interleaved by type), then the first ``limit``."""
    if tasks is not None:
        chosen = list(tasks)
        known = set(env.task_ids())
        unknown = [t for t in chosen if t not in known]
        if unknown:
            raise UserError(f"Unknown task id(s) for {env.name} {env.split}: {', '.join(unknown[:5])}. "
                            f"Ids look like {env.task_ids()[0]!r}.")
    else:
        chosen = env.task_ids()
        if per_type is not None:
            by_type: dict[str, list[str]] = {}
            for task_id in chosen:
                by_type.setdefault(env.task_type(task_id), []).append(task_id)
            rounds = [[ids[i] for ids in by_type.values() if i < len(ids)] for i in range(per_type)]
            chosen = [t for r in rounds for t in r]
    return chosen[:limit] if limit is not None else chosen


async def evaluate(make_env: Callable[[], ThreadedEnv], task_ids: list[str], play: Play, log: EpisodeLog, *,
                   concurrency: int = 1, on_record: Callable[[dict[str, Any]], None] | None = None,
                   ) -> list[dict[str, Any]]:
    """Play ``task_ids`` (skipping those already in ``log``), ``concurrency`` at a time; return every record
    of the run, old and new."""
    done = log.load()
    finished = {r["task_id"] for r in done}
    queue: asyncio.Queue[str] = asyncio.Queue()
    for task_id in task_ids:
        if task_id not in finished:
            queue.put_nowait(task_id)
    records = list(done)

    async def worker() -> None:
        env: ThreadedEnv | None = None
        try:
            while not queue.empty():
                task_id = queue.get_nowait()
                if env is None:
                    env = await asyncio.to_thread(make_env)
                record, crashed = await _episode(env, task_id, play)
                log.append(record)
                records.append(record)
                if on_record:
                    on_record(record)
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


async def _episode(env: ThreadedEnv, task_id: str, play: Play) -> tuple[dict[str, Any], bool]:
    started = time.perf_counter()
    base = {"task_id": task_id, "task_type": env.task_type(task_id), "env": env.name, "split": env.split}
    try:
        record = {**base, **await play(env, task_id), "error": None}
        crashed = False
    except EnvCrashed as e:
        record, crashed = {**base, "won": False, "reward": 0.0, "steps": 0, "error": str(e)}, True
    except (UserError, ModelServerError):
        raise  # misconfiguration or an unreachable model: every episode would fail; stop, resume later
    except Exception as e:  # an agent bug in one episode must not end the whole eval
        record, crashed = {**base, "won": False, "reward": 0.0, "steps": 0,
                           "error": f"{type(e).__name__}: {e}"}, False
    record["seconds"] = round(time.perf_counter() - started, 3)
    record["finished_at"] = time.time()
    return record, crashed


async def _close_quietly(env: ThreadedEnv) -> None:
    try:
        await env.close()
    except Exception:  # the simulator is already gone; nothing left to release
        pass
