"""TextWorldExpress games (``textworld-express`` on PyPI; a JVM through py4j, Java 17, offline).

Eight games: cookingworld, twc, coin, mapreader, arithmetic, sorting, simonsays, peckingorder. A task id is
``game/seed``; a split's seeds are the game's own (train, dev, test). Game parameters use TextWorldExpress's
syntax (``"numLocations=5,includeDoors=0"``); empty means the game's defaults. Games take different
parameters, so ``"coin:numLocations=2;twc:numLocations=1,includeDoors=0"`` sets them per game (the CLI's
``--env-option params=...``). Each game's gold path is the reference policy.

Example (needs ``agentkit[envs]`` and Java):
    >>> import asyncio
    >>> async def play():
    ...     env = TextWorldExpress(games=["arithmetic"], episodes=2)
    ...     obs = await env.reset(env.task_ids()[0])
    ...     while not (result := await env.step(await env.expert_action())).done:
    ...         pass
    ...     await env.close()
    ...     return env.task_ids(), obs.info.task_type, result.won
    >>> asyncio.run(play())  # doctest: +SKIP
    (['arithmetic/20000', 'arithmetic/20001'], 'arithmetic', True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentkit.envs.base import Obs, StepResult, ThreadedEnv
from agentkit.errors import UserError
from agentkit.optional import require

__all__ = ["GAMES", "TextWorldExpress"]

GAMES = ("cookingworld", "twc", "coin", "mapreader", "arithmetic", "sorting", "simonsays", "peckingorder")
_FOLDS = {"train": "train", "dev": "dev", "valid": "dev", "test": "test"}


def _per_game(params: str, games: Sequence[str]) -> dict[str, str]:
    """``"k=v,..."`` for every game, or ``"game:k=v,...;game:k=v,..."`` per game."""
    if ":" not in params:
        return {g: params for g in games}
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in params.split(";"))):
        game, colon, values = part.partition(":")
        if not colon or game.strip() not in GAMES:
            raise UserError(f"Bad TextWorldExpress params {part!r}: write game:key=value,... with game one of "
                            f"{', '.join(GAMES)}, and separate games with ';'.")
        out[game.strip()] = values.strip()
    return out


class TextWorldExpress(ThreadedEnv):
    """TextWorldExpress games of one split.

    Args:
        games: which games (default all eight).
        split: ``train``, ``dev`` or ``test``.
        params: game parameters: one string for every game, ``"game:params;game:params"``, or a dict per game.
        episodes: seeds per game in ``task_ids()`` (the first ones of the split).
    """

    name = "textworld_express"
    splits = tuple(dict.fromkeys(_FOLDS.values()))
    split_aliases = tuple(k for k in _FOLDS if k not in _FOLDS.values())
    inline_seconds = 0.001  # a warm step takes 0.1-0.15 ms, less than the hand-off to the worker thread

    def __init__(self, games: Sequence[str] = GAMES, split: str = "test", *, params: str | dict[str, str] = "",
                 episodes: int = 100) -> None:
        unknown = [g for g in games if g not in GAMES]
        if unknown:
            raise UserError(f"Unknown TextWorldExpress game(s) {', '.join(unknown)}; choose from {', '.join(GAMES)}.")
        if split not in _FOLDS:
            raise UserError(f"Unknown TextWorldExpress split {split!r}; use train, dev or test.")
        self.games, self.split, self.episodes = list(games), _FOLDS[split], episodes
        self.params = params if isinstance(params, dict) else _per_game(params, self.games)
        self._env: Any = None
        self._loaded: str | None = None
        self._ids: list[str] | None = None
        super().__init__()

    def _engine(self) -> Any:
        if self._env is None:
            engine = require("textworld_express", what="TextWorldExpress", needs="its engine", extra="agentkit[envs]")
            orjson = require("orjson", what="TextWorldExpress", needs="orjson", extra="agentkit[envs]")  # the engine's
            self._env = engine.TextWorldExpressEnv(envStepLimit=100_000)
            # Steps call the engine's JSON step directly: the library's ``step`` makes a second JVM round trip
            # per step (it re-fetches the task description, fixed for an episode) and copies every reply into
            # a history; together about 30 % of a step. Reward and done are derived below as it derives them.
            self._step_json, self._parse = self._env.server.stepJSON, orjson.loads
        return self._env

    def _load(self, game: str) -> Any:
        env = self._engine()
        if self._loaded != game:
            env.load(game, self.params.get(game, ""))
            self._loaded = game
        return env

    def _seeds(self, game: str) -> list[int]:
        env = self._load(game)
        return list({"train": env.getValidSeedsTrain, "dev": env.getValidSeedsDev,
                     "test": env.getValidSeedsTest}[self.split]())

    def task_ids(self) -> list[str]:
        if self._ids is None:
            self._ids = [f"{g}/{s}" for g in self.games for s in self._seeds(g)[: self.episodes]]
        return self._ids

    def task_type(self, task_id: str) -> str:
        return task_id.split("/")[0]

    def _reset(self, task_id: str) -> Obs:
        game, _, seed = task_id.partition("/")
        if game not in self.games or not seed.isdigit():
            raise UserError(f"Bad TextWorldExpress task id {task_id!r}: use game/seed, e.g. coin/20000.")
        obs, infos = self._load(game).reset(seed=int(seed), gameFold=self.split, generateGoldPath=True)
        self._gold = []  # fetched when the expert first plays: one JVM call fewer per episode
        self._score, self._task = 0.0, infos["taskDescription"].strip()
        self._admissible = sorted(infos["validActions"])
        return Obs(obs.strip(), self._task, self._admissible)

    def _expert(self) -> str | None:
        if not self._gold:
            self._gold = list(self._env.getGoldActionSequence())
        return super()._expert()

    def _step(self, action: str) -> StepResult:
        if action == "help":  # as the library answers it: the task again, no move made
            return StepResult(self._task, score=self._score, admissible=self._admissible)
        reply = self._parse(self._step_json(action))
        obs, score, won = reply["observation"], float(reply["score"]), bool(reply["tasksuccess"])
        reward, self._score = score - self._score, score
        self._admissible = sorted(reply["validActions"])
        return StepResult(obs.strip(), reward=reward, done=won or reply["taskfailure"] or score >= 1.0, won=won,
                          score=score, admissible=self._admissible, info={"invalid": obs.startswith("Unknown action")})

    def _close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = self._loaded = None
