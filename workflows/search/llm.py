"""A search config whose model calls are prompt templates: the shared half of every task's config.

A task's config supplies the template values and parses the replies; this class makes the calls:
proposing (one prompt that lists several steps, or ``k`` samples of one step through the backend's ``n``),
evaluating (a value prompt per child, issued concurrently, or one vote over all children) and reflecting.
Replies that do not parse are recorded, never raised.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from agentkit.context import RunContext
from agentkit.templates import render
from agentkit.types import Message
from agentkit.workflows.search.base import Evaluation, Proposals

__all__ = ["LLMSearchConfig", "hints_text"]

Generation = Literal["propose", "sample"]
Judging = Literal["value", "vote"]

_VOTE = re.compile(r"choice\s*#?\s*(\d+)", re.IGNORECASE)


def hints_text(hints: Sequence[str]) -> str:
    """Reflections as a prompt paragraph ('' when there are none)."""
    if not hints:
        return ""
    return "Lessons from earlier failed attempts:\n" + "\n".join(f"- {h}" for h in hints[-3:]) + "\n"


class LLMSearchConfig:
    """Template-driven proposing, evaluating and reflecting.

    Args:
        task: the task whose ``prompts`` name the templates (``propose``, ``step``, ``value``, ``vote``,
            ``reflect``).
        generation: ``propose`` (one call lists up to k steps) or ``sample`` (k samples of one step).
        judging: ``value`` (each child rated on its own, calls issued concurrently) or ``vote`` (the model
            picks the most promising child, ``n_evaluate`` times).
        n_evaluate: samples per value or vote (averaged / counted).
        temperature: sampling temperature for ``sample`` generation and repeated evaluations.
    """

    def __init__(self, task: Any, *, generation: Generation = "propose", judging: Judging = "value",
                 n_evaluate: int = 1, temperature: float = 0.7) -> None:
        self.task = task
        self.generation = generation
        self.judging = judging
        self.n_evaluate = n_evaluate
        self.temperature = temperature

    # --- what a task's config provides -------------------------------------------------------------
    def prompt_values(self, state: Any) -> dict[str, str]:
        """Template values describing ``state`` (e.g. ``question``, ``steps``, ``numbers``)."""
        raise NotImplementedError

    def parse_actions(self, text: str, state: Any) -> Proposals:
        """Actions in a proposal reply."""
        raise NotImplementedError

    def parse_value(self, text: str) -> float | None:
        """A value reply as a number in [0, 1], or ``None`` when it does not parse."""
        raise NotImplementedError

    def describe(self, state: Any) -> str:
        raise NotImplementedError

    # --- the model calls ---------------------------------------------------------------------------
    def messages(self, ctx: RunContext, role: str, **values: str) -> list[Message]:
        """The task's template for ``role`` (the run's override of it, if any) filled with ``values``."""
        return render(ctx.template(self.task.prompt(role)), **values)

    async def propose(self, ctx: RunContext, state: Any, *, k: int, hints: Sequence[str]) -> Proposals:
        values = {**self.prompt_values(state), "k": str(k), "hints": hints_text(hints)}
        if self.generation == "propose":
            texts = (await ctx.generate(self.messages(ctx, "propose", **values))).texts
        else:
            texts = (await ctx.generate(self.messages(ctx, "step", **values), n=k,
                                        temperature=self.temperature)).texts
        out = Proposals()
        for text in texts:
            parsed = self.parse_actions(text, state)
            out.rejected.extend(parsed.rejected)
            for action in parsed.actions:
                if action not in out.actions:
                    out.actions.append(action)
        if not out.actions and not out.rejected:
            out.rejected.append((" | ".join(t[:80] for t in texts), "the reply held no step"))
        out.actions = out.actions[:k]
        return out

    async def evaluate(self, ctx: RunContext, parent: Any, children: Sequence[Any]) -> list[Evaluation]:
        if not children:
            return []
        if self.judging == "vote" and len(children) > 1:
            return await self._vote(ctx, parent, children)
        return list(await asyncio.gather(*(self._value(ctx, child) for child in children)))

    async def _value(self, ctx: RunContext, state: Any) -> Evaluation:
        n = self.n_evaluate
        completion = await ctx.generate(self.messages(ctx, "value", **self.prompt_values(state)), n=n,
                                        temperature=self.temperature if n > 1 else 0.0, max_tokens=256)
        scores = [self.parse_value(text) for text in completion.texts]
        parsed = [s for s in scores if s is not None]
        if not parsed:
            return Evaluation(0.5, "unparseable value reply; neutral 0.5: " + completion.texts[0][-80:])
        return Evaluation(sum(parsed) / len(parsed), f"{len(parsed)} of {n} ratings: "
                          + ", ".join(f"{s:.2f}" for s in parsed))

    async def _vote(self, ctx: RunContext, parent: Any, children: Sequence[Any]) -> list[Evaluation]:
        choices = "\n".join(f"Choice {i + 1}: {self.describe(c)}" for i, c in enumerate(children))
        n = max(self.n_evaluate, 1)
        completion = await ctx.generate(self.messages(ctx, "vote", **self.prompt_values(parent),
                                               choices=choices), n=n,
                                        temperature=self.temperature if n > 1 else 0.0, max_tokens=384)
        votes: Counter[int] = Counter()
        for text in completion.texts:
            found = _VOTE.findall(text)
            if found and 1 <= int(found[-1]) <= len(children):
                votes[int(found[-1]) - 1] += 1
        counted = sum(votes.values())
        if not counted:
            return [Evaluation(0.5, "no valid vote; neutral 0.5")] * len(children)
        return [Evaluation(votes[i] / counted, f"{votes[i]} of {counted} votes") for i in range(len(children))]

    async def reflect(self, ctx: RunContext, path: Sequence[Any]) -> str | None:
        if not path:
            return None
        values = {**self.prompt_values(path[0]), "attempt": "\n".join(self.describe(s) for s in path[1:]),
                  "feedback": "this path finished without solving the problem"}
        completion = await ctx.generate(self.messages(ctx, "reflect", **values), max_tokens=128)
        text = completion.text.strip().splitlines()
        return text[0].strip() if text and text[0].strip() else None
