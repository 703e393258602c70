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

__all__ = ["ContinuationConfig", "StepsConfig", "StepsState", "StepsWorld", "VerifiedConfig"]

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
        return bool(state["steps"]) and (self._stated(state) is not None or len(state["steps"]) >= self.max_steps)

    def describe(self, state: StepsState) -> str:
        return " / ".join(state["steps"]) or state["question"]

    def answer(self, state: StepsState) -> str | None:
        """The answer the last step states; a path cut at ``max_steps`` answers what its text ends with."""
        if not state["steps"]:
            return None
        stated = self._stated(state)
        if stated is None and len(state["steps"]) >= self.max_steps and self.task is not None:
            return self.task.extract("\n\n".join(state["steps"]))
        return stated

    def _stated(self, state: StepsState) -> str | None:
        return (self.task.stated_answer if self.task else find_answer)(state["steps"][-1])


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
        answer = self.task.stated_answer(state["steps"][-1])
        verified = self.task.verify(state["question"], answer) if answer else None
        return None if verified is None else verified[0]


class ContinuationConfig(StepsConfig):
    """Steps made by continuing the solution itself: the task's solving prompt, the steps so far as the
    start of the model's reply, and ``k`` samples of the next paragraph (one batched call, ending at a blank
    line). This is how step-level search over a chat model's own solution format works (a step is what the
    model writes between blank lines), and what a process reward model scores.

    Args:
        max_step_tokens: tokens per step at most.
        (others as ``LLMSearchConfig``)
    """

    def __init__(self, task: Any, *, max_step_tokens: int = 192, **options: Any) -> None:
        super().__init__(task, **{"generation": "sample", **options})
        self.max_step_tokens = max_step_tokens

    async def propose(self, ctx: Any, state: Any, *, k: int, hints: Any) -> Proposals:
        from agentkit.workflows.search.llm import hints_text

        messages = self.task.messages(self.messages(ctx, "cot", question=state["question"]))
        if hints:
            messages[0] = {"role": messages[0]["role"], "content": messages[0]["content"] + "\n\n" + hints_text(hints)}
        prefix = "".join(f"{s}\n\n" for s in state["steps"])
        messages.append({"role": "assistant", "content": prefix})
        completion = await ctx.generate(messages, n=k, temperature=self.temperature, stop=["\n\n"],
                                        max_tokens=self.max_step_tokens)
        out = Proposals()
        for choice in completion.choices:
            step = choice.text.strip()
            if not step:
                out.rejected.append(("(empty)", "the model ended the solution without a step"))
            elif step not in out.actions:
                out.actions.append(step)
        return out

    async def complete(self, ctx: Any, state: Any) -> str:
        """The rest of the solution from ``state``, greedily in one call: what a search that stops before any
        path is finished answers with (from its most promising path)."""
        messages = self.task.messages(self.messages(ctx, "cot", question=state["question"]))
        prefix = "".join(f"{s}\n\n" for s in state["steps"])
        messages.append({"role": "assistant", "content": prefix})
        return (await ctx.generate(messages, temperature=0.0)).text.strip()


class VerifiedConfig:
    """A search config whose ``evaluate`` is a step verifier's score of each child's newest step (in the
    context of the steps before it); proposing and reflecting are the wrapped config's.

    Example:
        >>> from agentkit.workflows.tasks import get_task
        >>> task = get_task("gsm8k")
        >>> _, config = task.search("q", verifier="task")
        >>> type(config).__name__, config.verifier.name
        ('VerifiedConfig', 'task')
    """

    def __init__(self, inner: Any, verifier: Any) -> None:
        self.inner, self.verifier = inner, verifier

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def propose(self, ctx: Any, state: Any, *, k: int, hints: Any) -> Proposals:
        return await self.inner.propose(ctx, state, k=k, hints=hints)

    async def evaluate(self, ctx: Any, parent: Any, children: Any) -> list[Any]:
        import asyncio

        from agentkit.workflows.search.base import Evaluation
        from agentkit.workflows.verifiers import VerifierError

        async def one(child: Any) -> Any:
            if not isinstance(child, dict) or "steps" not in child:
                raise TypeError("a verifier guides searches over steps of reasoning (states with 'steps')")
            try:
                scores = await self.verifier.score_steps(ctx, child["question"], child["steps"], last_only=True)
            except VerifierError as e:
                return Evaluation(0.0, f"verifier failed: {e}")
            return Evaluation(scores[-1], f"{self.verifier.name}: {scores[-1]:.2f}")

        return list(await asyncio.gather(*(one(c) for c in children)))

    def reward(self, state: Any) -> float | None:
        return self.inner.reward(state)

    async def reflect(self, ctx: Any, path: Any) -> str | None:
        return await self.inner.reflect(ctx, path)
