"""Any question as a search problem: a state is the list of reasoning steps so far, an action is the next
step, and a step that states the answer (``Answer: ...``) ends the path.

Without a programmatic verifier a finished path's reward is unknown (``None``) and the algorithms rank it by
its value; a task with a verifier (``Task.verify``) gives exact rewards.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

from agentkit.workflows.answers import find_answer, parse_score
from agentkit.workflows.search.base import Proposals
from agentkit.workflows.search.llm import LLMSearchConfig

__all__ = ["StepsConfig", "StepsState", "StepsWorld"]

_NUMBERED = re.compile(r"^\s*(?:\d+[.)]|[-*]|step\s*\d+\s*[:.)-])\s*", re.IGNORECASE)


class StepsState(TypedDict):
    question: str
    steps: list[str]


class StepsWorld:
    """Reasoning steps toward an answer; at most ``max_steps`` of them."""

    def __init__(self, question: str, *, max_steps: int = 4, task: Any = None) -> None:
        self.question = question
        self.max_steps = max_steps
        self.task = task

    def init_state(self) -> StepsState:
        return {"question": self.question, "steps": []}

    def step(self, state: StepsState, action: str) -> StepsState:
        return {"question": state["question"], "steps": [*state["steps"], action]}

    def is_terminal(self, state: StepsState) -> bool:
        return bool(state["steps"]) and (self.answer(state) is not None or len(state["steps"]) >= self.max_steps)

    def describe(self, state: StepsState) -> str:
        return " / ".join(state["steps"]) or state["question"]

    def answer(self, state: StepsState) -> str | None:
        if not state["steps"]:
            return None
        return (self.task.extract if self.task else find_answer)(state["steps"][-1])


class StepsConfig(LLMSearchConfig):
    """Model calls for step-by-step reasoning: propose next steps, rate partial solutions out of 10."""

    def prompt_values(self, state: Any) -> dict[str, str]:
        steps = "\n".join(f"Step {i + 1}: {s}" for i, s in enumerate(state["steps"])) or "(no steps yet)"
        return {"question": state["question"], "steps": steps}

    def parse_actions(self, text: str, state: Any) -> Proposals:
        out = Proposals()
        lines = [_NUMBERED.sub("", line).strip() for line in text.strip().splitlines()]
        if self.generation == "sample":  # one step per sample: the whole reply, joined
            step = " ".join(line for line in lines if line)
            if step:
                out.actions.append(step)
            return out
        for line in lines:
            if len(line) > 3 and line not in out.actions:
                out.actions.append(line)
        return out

    def parse_value(self, text: str) -> float | None:
        return parse_score(text)

    def describe(self, state: Any) -> str:
        return " / ".join(state["steps"]) or "(start)"

    def reward(self, state: Any) -> float | None:
        if not state["steps"]:
            return None
        answer = self.task.extract(state["steps"][-1])
        verified = self.task.verify(state["question"], answer) if answer else None
        return None if verified is None else verified[0]
