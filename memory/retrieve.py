"""What the memory puts into a prompt: the recalled records, laid out within a token budget.

Sections go in order of value per token: insights (short rules), reflections on failed attempts at similar
tasks, concepts, then worked examples (successful trajectories, the longest). An item is taken whole when it
fits; an example that does not fit is cut to its first steps, and what is left out is said, never silently
dropped mid-sentence.

Example:
    >>> from agentkit.memory.records import Insight, TrajectoryRecord
    >>> ctx = PromptContext(insights=[Insight(text="Check the countertops first.")],
    ...                     examples=[TrajectoryRecord(task="find a mug", won=True,
    ...                               steps=[{"action": "go to countertop 1", "observation": "You see a mug 1."}])])
    >>> print(ctx.render(budget=200))
    Rules learned from earlier tasks:
    - Check the countertops first.
    <BLANKLINE>
    Solved similar task:
    Task: find a mug
    > go to countertop 1 -> You see a mug 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agentkit.limits import estimate_tokens
from agentkit.memory.records import Concept, Insight, Record, Reflection, TrajectoryRecord

__all__ = ["PromptContext", "Used", "render_trajectory"]

_OBSERVATION_CHARS = 160


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _OBSERVATION_CHARS else text[: _OBSERVATION_CHARS - 3] + "..."


def render_trajectory(trajectory: TrajectoryRecord, *, max_steps: int | None = None) -> str:
    """A trajectory as prompt lines: the task, what the agent saw first, then ``> action -> observation`` per
    step (observations shortened). The first observation matters: without it each line would pair an action
    with the observation it caused, which reads as if the action answered that observation."""
    lines = [f"Task: {trajectory.task}"]
    if trajectory.opening:
        lines.append(f"Start: {_short(trajectory.opening)}")
    steps = [s for s in trajectory.steps if s.get("action")]
    for step in steps[:max_steps]:
        lines.append(f"> {step['action']} -> {_short(str(step.get('observation', '')))}")
    if max_steps is not None and len(steps) > max_steps:
        lines.append(f"... ({len(steps) - max_steps} more steps)")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Used:
    """A recalled record that made it into the prompt: its search score and the tokens its text took."""

    record: Record
    score: float | None
    tokens: int


@dataclass
class PromptContext:
    """Records recalled for one task, best first in each list; ``scores`` holds each one's search score
    (by record id)."""

    examples: list[TrajectoryRecord] = field(default_factory=list)
    reflections: list[Reflection] = field(default_factory=list)
    insights: list[Insight] = field(default_factory=list)
    concepts: list[Concept] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.examples or self.reflections or self.insights or self.concepts)

    def render(self, budget: int) -> str:
        """The prompt text, at most ``budget`` tokens (by ``estimate_tokens``); empty when nothing fits."""
        return self.layout(budget)[0]

    def layout(self, budget: int) -> tuple[str, list[Used]]:
        """``render``'s text and the records it used, in prompt order, each with the tokens it took."""
        sections: list[str] = []
        used: list[Used] = []
        left = budget

        def take(title: str, items: list[tuple[Record, str]]) -> None:
            nonlocal left
            kept: list[str] = []
            cost = estimate_tokens(title) + 2
            for record, item in items:
                if cost + estimate_tokens(item) <= left:
                    kept.append(item)
                    cost += estimate_tokens(item)
                    used.append(self._used(record, estimate_tokens(item)))
            if kept:
                sections.append("\n".join([title, *kept]))
                left -= cost

        take("Rules learned from earlier tasks:", [(i, f"- {i.text}") for i in self.insights])
        take("Lessons from failed attempts at similar tasks:", [(r, f"- {r.text}") for r in self.reflections])
        take("Facts about this world:", [(c, f"- {c.name}: {c.text}") for c in self.concepts])
        for example in self.examples:
            title = "Solved similar task:"
            text = render_trajectory(example)
            steps = len([s for s in example.steps if s.get("action")])
            while steps > 0 and estimate_tokens(title) + estimate_tokens(text) + 2 > left:
                steps //= 2
                text = render_trajectory(example, max_steps=steps)
            if steps > 0 and estimate_tokens(title) + estimate_tokens(text) + 2 <= left:
                sections.append(f"{title}\n{text}")
                left -= estimate_tokens(title) + estimate_tokens(text) + 2
                used.append(self._used(example, estimate_tokens(text)))
        return "\n\n".join(sections), used

    def _used(self, record: Record, tokens: int) -> Used:
        return Used(record, self.scores.get(record.id) if record.id is not None else None, tokens)
