"""Scripted simulators for the harness tests: no engines, no processes."""

from __future__ import annotations

import time

from agentkit.envs.base import Obs, StepResult, ThreadedEnv


class Coin(ThreadedEnv):
    """``take coin`` wins; task ids ``t0``…; ``crash*`` tasks raise inside the simulator on the first step."""

    name = "coin"
    split = "test"

    def __init__(self, n: int = 6, delay: float = 0.0, split: str = "test") -> None:
        self.n, self.delay, self.split = n, delay, split
        self.closed = False
        super().__init__()

    def task_ids(self) -> list[str]:
        return [f"t{i}" for i in range(self.n)] + ["crash1"]

    def task_type(self, task_id: str) -> str:
        return "odd" if task_id[-1] in "13579" else "even"

    def _reset(self, task_id: str) -> Obs:
        self._gold = ["look", "take coin"]
        return Obs("A coin lies here.", task="take the coin", admissible=["look", "take coin"])

    def _step(self, action: str) -> StepResult:
        time.sleep(self.delay)
        if self.task_id and self.task_id.startswith("crash"):
            raise RuntimeError("engine segfault (simulated)")
        if action == "take coin":
            return StepResult("You take the coin.", reward=1.0, done=True, won=True, admissible=[])
        if action == "look":
            return StepResult("A coin lies here.", admissible=["look", "take coin"])
        return self.invalid(action, ["look", "take coin"])

    def _close(self) -> None:
        self.closed = True


class PickyCoin(Coin):
    """Coin whose constructor checks a value, as TextWorldExpress checks its game names."""

    def __init__(self, n: int = 6, delay: float = 0.0, split: str = "test") -> None:
        if n < 1:
            from agentkit.errors import UserError

            raise UserError(f"PickyCoin's n must be at least 1, not {n}.")
        super().__init__(n, delay, split)
