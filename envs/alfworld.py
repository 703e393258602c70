"""ALFWorld's text games on the official ``alfworld`` package and its TextWorld engine.

Games come from ``$ALFWORLD_DATA`` in the official layout (``json_2.1.1/<split folder>/<task>/<trial>/``
with ``game.tw-pddl`` and ``traj_data.json``); users with internet fill it with ``alfworld-download``.
Splits go by their official names: ``train``, ``eval_in_distribution`` (folder ``valid_seen``) and
``eval_out_of_distribution`` (``valid_unseen``); the folder names work too. Like the official loader, games
in "movable"/"Sliced" folders and games not marked solvable are skipped.

alfworld is pinned to 0.4.2: from 0.4.0 (late 2024) the grammar says ``move X to Y`` where older releases
said ``put X in/on Y``, and the bundled hand-coded expert plays only the new wording. Each game file carries
its own grammar, though, and the json_2.1.1 game files (the ones in ``../shared/data/alfworld``) still say
``put X in/on Y``. The adapter shows every game in the new wording (admissible actions, plans) and maps it
back to the game's own; an agent, or a prompt written for the old wording, that says ``put X in/on Y`` is
understood too.

The engine's experts are the reference policy: ``expert="planner"`` (the PDDL planner on the full game
state; it wins every game in a handful of steps) or ``expert="handcoded"`` (a rule-based explorer that
searches receptacles as an agent must). The engine re-plans after every step, and its planner takes
minutes (and gigabytes) on some "two X in a Y" goals, whose objects it must choose itself. So the planner
here plans once at reset, again only after a step off its plan, and plans a two-object goal with the
objects and receptacle named (any two objects of the kind satisfy the game's goal). Experts are off by
default.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from agentkit.envs.alfworld_notes import AlfWorldNotes
from agentkit.envs.base import Obs, StepResult, ThreadedEnv
from agentkit.errors import UserError
from agentkit.optional import require

__all__ = ["SPLITS", "TASK_TYPES", "AlfWorld", "AlfWorldGame", "data_root"]

SPLITS = {
    "train": ("train", "valid_train"),
    "eval_in_distribution": ("valid_seen",),
    "eval_out_of_distribution": ("valid_unseen",),
}
_FOLDER_TO_SPLIT = {"valid_seen": "eval_in_distribution", "valid_unseen": "eval_out_of_distribution",
                    "valid_train": "train"}
TASK_TYPES = ("pick_and_place_simple", "look_at_obj_in_light", "pick_clean_then_place_in_recep",
              "pick_heat_then_place_in_recep", "pick_cool_then_place_in_recep", "pick_two_obj_and_place")
_BANNER = re.compile(r"^\s*-= Welcome to TextWorld, ALFRED! =-\s*")
_OLD_PUT = re.compile(r"^put (.+?) (?:in/on|in|on) (.+)$")
_TWO_OBJECTS = re.compile(r"\(objectType \?o1 (\w+)\).*?\(receptacleType \?r (\w+)\).*?\(objectType \?o2 \1\)",
                          re.DOTALL)


def data_root(data: str | os.PathLike[str] | None = None) -> Path:
    """The ALFWorld data folder: ``data``, else ``$ALFWORLD_DATA``, else alfworld's own cache."""
    root = Path(data or os.environ.get("ALFWORLD_DATA") or Path.home() / ".cache" / "alfworld").expanduser()
    if not (root / "json_2.1.1").is_dir():
        raise UserError(f"No ALFWorld games under {root} (expected {root / 'json_2.1.1'}). Set ALFWORLD_DATA to "
                        "a folder in the official layout: run `alfworld-download` (needs internet), or in this "
                        "project's development setup `export ALFWORLD_DATA=$(realpath ../shared/data/alfworld)`.")
    return root


@cache
def _games(folder: Path) -> tuple[tuple[str, str], ...]:
    """(task id, task type) of the playable games under ``folder``, sorted."""
    found = []
    for traj in sorted(folder.glob("*/*/traj_data.json")):
        game_dir = traj.parent
        task_id = f"{game_dir.parent.name}/{game_dir.name}"
        if "movable" in task_id or "Sliced" in task_id or not (game_dir / "game.tw-pddl").exists():
            continue
        task_type = json.loads(traj.read_text())["task_type"]
        if task_type in TASK_TYPES and json.loads((game_dir / "game.tw-pddl").read_text()).get("solvable"):
            found.append((task_id, task_type))
    return tuple(found)


def _named_two_object_goal(problem: str) -> str | None:
    """``problem`` (PDDL) with a "two objects of a kind in a receptacle of a kind" goal replaced by one
    naming two such objects (those already there first) and one such receptacle (one that need not be
    opened, if there is one); ``None`` for other goals."""
    head, _, goal = problem.partition("(:goal")
    match = _TWO_OBJECTS.search(goal)
    if not match:
        return None
    objects = re.findall(rf"\(objectType (\S+) {match.group(1)}\)", head)
    receptacles = re.findall(rf"\(receptacleType (\S+) {match.group(2)}\)", head)
    if len(objects) < 2 or not receptacles:
        return None
    target = min(receptacles, key=lambda r: f"(openable {r})" in head)  # opening one slows the planner down
    first, second = sorted(objects, key=lambda o: f"(inReceptacle {o} {target})" not in head)[:2]
    return f"{head}(:goal (and (inReceptacle {first} {target}) (inReceptacle {second} {target})))\n)\n"


def _new_wording(command: str) -> str:
    """``put X in/on Y`` said the 0.4 way: ``move X to Y``; other commands unchanged."""
    match = _OLD_PUT.match(command)
    return f"move {match.group(1)} to {match.group(2)}" if match else command


def _wording() -> Any:
    """A TextWorld wrapper showing a game in alfworld 0.4's wording whatever its file's grammar says."""
    return _wording_class()()


@cache
def _wording_class() -> type:
    """The wrapper's class, defined once (textworld is imported only when a game starts)."""
    import textworld

    class NewWording(textworld.core.Wrapper):
        _engine: dict[str, str] = {}

        def _show(self, state: Any) -> Any:
            self._engine = {_new_wording(c): c for c in state["admissible_commands"]}
            state["admissible_commands"] = sorted(self._engine)
            if state.get("policy_commands"):
                state["policy_commands"] = [_new_wording(c) for c in state["policy_commands"]]
            return state

        def reset(self) -> Any:
            return self._show(super().reset())

        def step(self, command: str) -> Any:
            state, score, done = super().step(self._engine.get(command, command))
            return self._show(state), score, done

    return NewWording


class AlfWorldGame:
    """The TextWorld engine playing one game at a time, in this process (it is not thread-safe: two games in
    one process corrupt each other's planner state, so ``AlfWorld`` runs each in its own child process)."""

    def __init__(self, folder: str, expert: str | None = None) -> None:
        self.folder, self.expert = Path(folder), expert
        self._env: Any = None
        self._state: Any = None
        self._plan: list[str] | None = None

    def reset(self, task_id: str) -> Obs:
        textworld = require("textworld", what="ALFWorld", needs="its engine", extra="agentkit[envs]")
        engine = require("alfworld.agents.environment.alfred_tw_env", what="ALFWorld", needs="its engine",
                         extra="agentkit[envs]")
        AlfredDemangler, AlfredExpert, AlfredInfos = engine.AlfredDemangler, engine.AlfredExpert, engine.AlfredInfos
        self.close()
        path = self.folder / task_id / "game.tw-pddl"
        named = self._named_goal_game(path) if self.expert == "planner" else None
        infos = textworld.EnvInfos(won=True, admissible_commands=True, extras=["gamefile"],
                                   policy_commands=self.expert == "planner" and named is None)
        wrappers: list[Any] = [AlfredDemangler(), AlfredInfos, _wording()]
        if self.expert == "handcoded":
            infos.extras.append("expert_plan")
            wrappers.append(AlfredExpert(expert_type=self.expert))
        self._env = textworld.start(str(path), request_infos=infos, wrappers=wrappers)
        self._state = self._env.reset()
        self._plan = self._plan_of(named) if named else self._planned()
        text = _BANNER.sub("", self._state["feedback"]).strip()
        task = text.split("Your task is to:")[-1].strip() if "Your task is to:" in text else ""
        return Obs(text, task, self._admissible())

    @staticmethod
    def _named_goal_game(path: Path) -> dict[str, Any] | None:
        game = json.loads(path.read_text())
        problem = _named_two_object_goal(game["pddl_problem"])
        return {**game, "pddl_problem": problem} if problem else None

    @staticmethod
    def _plan_of(game: dict[str, Any]) -> list[str]:
        """The planner's plan for ``game`` (the same world as the one played, with a named goal)."""
        import textworld
        from alfworld.agents.environment.alfred_tw_env import AlfredDemangler, AlfredInfos

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "game.tw-pddl"
            path.write_text(json.dumps(game))
            env = textworld.start(str(path), request_infos=textworld.EnvInfos(policy_commands=True),
                                  wrappers=[AlfredDemangler(), AlfredInfos, _wording()])
            try:
                return list(env.reset()["policy_commands"])
            finally:
                env.close()

    def _planned(self) -> list[str] | None:
        """The planner's plan from the state just computed; stops the engine re-planning every step."""
        if self.expert != "planner":
            return None
        self._env.request_infos.policy_commands = False
        return list(self._state["policy_commands"])

    def _admissible(self) -> list[str]:
        return sorted(self._state["admissible_commands"])

    def step(self, action: str) -> StepResult:
        action = _new_wording(action)
        valid = action in self._admissible()
        on_plan = bool(self._plan) and action == self._plan[0]
        if self.expert == "planner" and not on_plan:
            self._env.request_infos.policy_commands = True  # off the plan: plan again from the next state
        self._state, reward, done = self._env.step(action)
        self._plan = self._plan[1:] if on_plan else self._planned()
        return StepResult(self._state["feedback"].strip(), reward=float(reward), done=bool(done),
                          won=bool(self._state["won"]), score=float(reward), admissible=self._admissible(),
                          info={"invalid": not valid})

    def expert_action(self) -> str | None:
        if not self.expert:
            raise UserError("This ALFWorld environment was made without an expert; make it with expert='planner' "
                            "(CLI: --env-option expert=planner) to use the expert.")
        if self._state is None:
            return None
        plan = self._plan if self.expert == "planner" else self._state["extra.expert_plan"]
        return plan[0] if plan else None

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None


class _InProcess:
    """``Isolated``'s interface over an object in this process."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def call(self, method: str, *args: Any) -> Any:
        return getattr(self.target, method)(*args)

    def close(self) -> None:
        self.target.close()


class AlfWorld(ThreadedEnv):
    """ALFWorld text games of one split; ``reset(task_id)`` loads that game.

    Args:
        split: ``train``, ``eval_in_distribution`` or ``eval_out_of_distribution`` (or a folder name).
        data: the data folder (default ``$ALFWORLD_DATA``).
        expert: ``"planner"`` or ``"handcoded"``: run that expert alongside so ``expert_action()`` works.
        isolate: run the engine in a child process (default). Needed when several ALFWorld environments
            play at once; a dying engine then takes only its own process.
    """

    name = "alfworld"
    splits, split_aliases = tuple(SPLITS), tuple(_FOLDER_TO_SPLIT)
    #: the notebook an agent that tracks its state keeps from the observations
    notes = AlfWorldNotes()

    def __init__(self, split: str = "eval_in_distribution", *, data: str | None = None,
                 expert: str | None = None, isolate: bool = True) -> None:
        self.split = _FOLDER_TO_SPLIT.get(split, split)
        if self.split not in SPLITS:
            raise UserError(f"Unknown ALFWorld split {split!r}; use one of: {', '.join(SPLITS)}.")
        root = data_root(data) / "json_2.1.1"
        folders = [root / f for f in SPLITS[self.split] if (root / f).is_dir()]
        if not folders:
            raise UserError(f"ALFWorld split {self.split!r} has no folder under {root} (looked for "
                            f"{' or '.join(SPLITS[self.split])}). Run `alfworld-download` or point ALFWORLD_DATA "
                            "at a folder that has it.")
        if expert not in (None, "planner", "handcoded"):
            raise UserError(f"Unknown ALFWorld expert {expert!r}; use planner or handcoded.")
        self.folder, self.expert, self.isolate = folders[0], expert, isolate
        self._types = dict(_games(self.folder))
        self._engine: Any = None
        super().__init__()

    def task_ids(self) -> list[str]:
        return list(self._types)

    def task_type(self, task_id: str) -> str:
        return self._types[task_id]

    def _game(self) -> Any:
        if self._engine is None:
            if self.isolate:
                from agentkit.envs.isolation import Isolated

                factory = functools.partial(AlfWorldGame, str(self.folder), self.expert)
                self._engine = Isolated(factory, name="ALFWorld engine")
            else:
                self._engine = _InProcess(AlfWorldGame(str(self.folder), self.expert))
        return self._engine

    def _reset(self, task_id: str) -> Obs:
        if task_id not in self._types:
            raise UserError(f"No ALFWorld game {task_id!r} in split {self.split!r} ({self.folder}).")
        return self._game().call("reset", task_id)

    def _step(self, action: str) -> StepResult:
        return self._game().call("step", action)

    def _expert(self) -> str | None:
        return self._game().call("expert_action")

    def _close(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            engine.close()
