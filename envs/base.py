"""The environment protocol agents act in: reset → observation, step(action) → result, close.

Simulators (ALFWorld, WebShop, ScienceWorld, TextWorldExpress) and Python tools (``ToolEnv``) all speak
it, so ReAct and the eval harness work with any of them. Async, so several episodes run at once.

``ThreadedEnv`` adapts a synchronous simulator: every call runs on the environment's own worker thread
(simulator objects never hop threads, the event loop never blocks), an invalid action comes back as an
observation, and a simulator that raises is reported as ``EnvCrashed`` so a harness can record the episode
as an error and go on.

Example:
    >>> import asyncio
    >>> class Counter(ThreadedEnv):
    ...     name = "counter"
    ...     def task_ids(self): return ["3"]
    ...     def _reset(self, task_id):
    ...         self.left = int(task_id)
    ...         return Obs("Say 'tick' until done.", task="tick 3 times", admissible=["tick"])
    ...     def _step(self, action):
    ...         if action != "tick":
    ...             return self.invalid(action, ["tick"])
    ...         self.left -= 1
    ...         return StepResult(f"{self.left} left", reward=float(self.left == 0), done=self.left == 0,
    ...                           won=self.left == 0)
    >>> async def play():
    ...     env = Counter()
    ...     obs = await env.reset("3")
    ...     results = [await env.step(a) for a in ["tock", "tick", "tick", "tick"]]
    ...     await env.close()
    ...     return obs.info.task_id, [r.observation for r in results], results[-1].won
    >>> asyncio.run(play())
    ('3', ["Invalid action 'tock'. Valid actions now: tick", '2 left', '1 left', '0 left'], True)
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agentkit.errors import AgentkitError

__all__ = ["Env", "EnvCrashed", "Obs", "StepResult", "TaskInfo", "ThreadedEnv"]


class EnvCrashed(AgentkitError):
    """The simulator failed (raised, or its process died); the episode cannot go on."""


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """Which episode this is: environment, split, task id and task type (for per-type tables)."""

    env: str
    split: str
    task_id: str
    task_type: str


@dataclass(frozen=True, slots=True)
class Obs:
    """What an agent sees after reset.

    Attributes:
        text: the opening observation.
        task: what the agent must do.
        admissible: the actions allowed now, when the environment lists them (``None``: free-form).
        info: the episode's metadata, for simulators (``None`` for ad-hoc environments such as tools).
    """

    text: str
    task: str = ""
    admissible: list[str] | None = None
    info: TaskInfo | None = None


@dataclass(slots=True)  # not frozen: built every step; a frozen init costs 0.7 µs more, ~1 % of a TWX step
class StepResult:
    """The outcome of one action.

    Attributes:
        observation: what the environment answered (an invalid action gets an explanation here).
        reward: this step's reward.
        done: the episode ended.
        won: the task was accomplished.
        score: the environment's running score, when it keeps one.
        admissible: the actions allowed next, when listed.
        info: anything else (e.g. ``answer`` for a tool environment's ``finish``).
    """

    observation: str
    reward: float = 0.0
    done: bool = False
    won: bool = False
    score: float | None = None
    admissible: list[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Env(Protocol):
    """An environment; ``reset(task)`` takes a task id (or seed) and ``close`` releases its processes."""

    async def reset(self, task: str | None = None) -> Obs: ...

    async def step(self, action: str) -> StepResult: ...

    async def close(self) -> None: ...


class ThreadedEnv:
    """Base for adapters of synchronous simulators.

    Subclasses set ``name`` and implement ``task_ids()``, ``_reset(task_id) -> Obs``,
    ``_step(action) -> StepResult`` and, when they hold processes, ``_close()``. The reference policy is
    ``_expert() -> str | None``; by default it plays ``self._gold``, a gold path set by ``_reset``.
    """

    name = "env"
    split = ""
    #: The split names the constructor takes (empty: any), and other names it takes for them.
    splits: tuple[str, ...] = ()
    split_aliases: tuple[str, ...] = ()
    #: Opt-in for engines whose calls take well under a millisecond (TextWorldExpress sets 0.001): a step (or
    #: reset) whose previous one took less than this runs directly on the event loop, since handing it to the
    #: worker thread costs about 0.25 ms and blocking the loop this briefly delays nothing. Off (0) by default:
    #: an engine whose calls vary (ScienceWorld's ``wait``) could block the loop on the call after a fast one.
    inline_seconds = 0.0

    def __init__(self) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"agentkit-{self.name}")
        self._seconds = {"reset": float("inf"), "step": float("inf")}  # the engine's last time; unknown at first
        self._done = False
        self._gold: list[str] = []
        self._moves = 0
        self.task_id: str | None = None

    def task_ids(self) -> list[str]:
        """The split's task ids, in a fixed order."""
        raise NotImplementedError

    def task_type(self, task_id: str) -> str:
        """The task's type (its family: an ALFWorld task type, a TextWorldExpress game ...)."""
        return self.name

    def info(self, task_id: str) -> TaskInfo:
        return TaskInfo(self.name, self.split, task_id, self.task_type(task_id))

    async def _call(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` on the worker thread; a simulator's exception becomes ``EnvCrashed``."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)
        except (AgentkitError, asyncio.CancelledError):
            raise
        except Exception as e:
            raise self._crashed(e) from e

    def _crashed(self, e: Exception) -> EnvCrashed:
        return EnvCrashed(f"{self.name} failed on task {self.task_id!r}: {type(e).__name__}: {e}")

    async def reset(self, task: str | None = None) -> Obs:
        task_id = task if task is not None else self.task_ids()[0]
        self.task_id, self._done, self._moves = task_id, False, 0
        obs = await self._run("reset", self._reset, task_id)
        return Obs(obs.text, obs.task, obs.admissible, self.info(task_id))

    async def step(self, action: str) -> StepResult:
        if self._done:
            return StepResult("The episode is over.", done=True)
        result = await self._run("step", self._step, action.strip())
        self._done, self._moves = result.done, self._moves + 1
        return result

    async def _run(self, kind: str, fn: Any, arg: str) -> Any:
        """A reset or step: directly on the event loop when the previous one took under ``inline_seconds``,
        else on the worker. Either way its time is kept for the next decision."""
        if self._seconds[kind] >= self.inline_seconds:
            return await self._call(self._timed, kind, fn, arg)
        try:
            return self._timed(kind, fn, arg)
        except AgentkitError:
            raise
        except Exception as e:
            raise self._crashed(e) from e

    def _timed(self, kind: str, fn: Any, arg: str) -> Any:
        started = time.perf_counter()
        try:
            return fn(arg)
        finally:
            self._seconds[kind] = time.perf_counter() - started

    async def expert_action(self) -> str | None:
        """The reference policy's next action (``None`` when it has none)."""
        return await self._call(self._expert)

    async def close(self) -> None:
        try:
            await self._call(self._close)
        finally:
            self._worker.shutdown(wait=False)

    def _reset(self, task_id: str) -> Obs:
        raise NotImplementedError

    def _step(self, action: str) -> StepResult:
        raise NotImplementedError

    def _expert(self) -> str | None:
        return self._gold[self._moves] if self._moves < len(self._gold) else None

    def _close(self) -> None:
        pass

    @staticmethod
    def invalid(action: str, admissible: list[str] | None) -> StepResult:
        """The observation for an action the simulator cannot take (the episode goes on)."""
        listed = f" Valid actions now: {', '.join(admissible)}" if admissible else ""
        return StepResult(f"Invalid action {action!r}.{listed}", admissible=admissible, info={"invalid": True})
