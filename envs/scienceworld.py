"""ScienceWorld tasks (``scienceworld`` on PyPI; a JVM through py4j, Java 17, offline).

A task id is ``task-name/variation``; a split's variations are the task's own (train, dev, test). The
engine's valid-action list runs to hundreds of object combinations, so actions are free-form here: the
opening observation lists the action templates and the engine answers anything else with "No known action
matches that input." Scores run 0-100; the episode is won at 100. The gold path is the reference policy.
``simplification="easy"`` is ScienceWorld's own preset (teleport, no electrical, self-watering, open doors).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentkit.envs.base import Obs, StepResult, ThreadedEnv
from agentkit.errors import UserError
from agentkit.optional import require

__all__ = ["ScienceWorld"]

_FOLDS = ("train", "dev", "test")


class ScienceWorld(ThreadedEnv):
    """ScienceWorld tasks of one split.

    Args:
        tasks: task names (default all 30).
        split: ``train``, ``dev`` or ``test``.
        simplification: ScienceWorld's simplification string (``"easy"`` or e.g. ``"teleportAction"``).
        episodes: variations per task in ``task_ids()`` (the first ones of the split).
    """

    name = "scienceworld"
    splits = _FOLDS

    def __init__(self, tasks: Sequence[str] | None = None, split: str = "test", *, simplification: str = "easy",
                 episodes: int = 5) -> None:
        if split not in _FOLDS:
            raise UserError(f"Unknown ScienceWorld split {split!r}; use train, dev or test.")
        self.split, self.simplification, self.episodes = split, simplification, episodes
        self._env: Any = None
        self._ids: list[str] | None = None
        self._score = 0.0
        super().__init__()
        known = self._engine().get_task_names()
        unknown = [t for t in tasks or () if t not in known]
        if unknown:
            raise UserError(f"Unknown ScienceWorld task(s) {', '.join(unknown)}; choose from {', '.join(known)}.")
        self.tasks = list(tasks or known)

    def _engine(self) -> Any:
        if self._env is None:
            engine = require("scienceworld", what="ScienceWorld", needs="its engine", extra="agentkit[envs]")
            self._env = engine.ScienceWorldEnv("", envStepLimit=100_000)
        return self._env

    def task_ids(self) -> list[str]:
        if self._ids is None:
            env, ids = self._engine(), []
            for task in self.tasks:
                env.load(task, 0, self.simplification)
                variations = {"train": env.get_variations_train, "dev": env.get_variations_dev,
                              "test": env.get_variations_test}[self.split]()
                ids += [f"{task}/{v}" for v in list(variations)[: self.episodes]]
            self._ids = ids
        return self._ids

    def task_type(self, task_id: str) -> str:
        return task_id.split("/")[0]

    def _reset(self, task_id: str) -> Obs:
        task, _, variation = task_id.partition("/")
        if task not in self.tasks or not variation.isdigit():
            raise UserError(f"Bad ScienceWorld task id {task_id!r}: use task/variation, e.g. boil/0.")
        env = self._engine()
        env.load(task, int(variation), self.simplification, generateGoldPath=True)
        obs, _ = env.reset()
        self._gold, self._score = list(env.get_gold_action_sequence()), 0.0
        templates = ", ".join(a.replace("OBJ", "X") for a in env.get_possible_actions() if a != "reset task")
        return Obs(f"{obs.strip()}\nActions (X is an object you can see): {templates}",
                   env.get_task_description().strip(), None)

    def _step(self, action: str) -> StepResult:
        obs, _, done, info = self._env.step(action)
        score = float(info["score"])
        reward, self._score = (score - self._score) / 100, score
        return StepResult(obs.strip(), reward=reward, done=bool(done) or score >= 100, won=score >= 100,
                          score=score, info={"invalid": obs.startswith("No known action")})

    def _close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None
