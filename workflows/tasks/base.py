"""The task interface: what a workflow needs to know about a kind of problem.

A task names its prompt templates, pulls an answer out of a reasoning text, may verify an answer without
knowing the reference (Game of 24 can: the expression either makes 24 from the four numbers or not), scores
answers against references for evaluation, and describes its problems as search problems for ToT/MCTS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentkit.types import Message
from agentkit.workflows.answers import answer_rule, find_answer, parse_number

if TYPE_CHECKING:
    from agentkit.workflows.search.base import SearchConfig, WorldModel

__all__ = ["Problem", "Task", "parse_number"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem of a task. ``reference`` is for scoring only; workflows never see it."""

    id: str
    question: str
    reference: str | None = None


class Task:
    """Free-form questions: the base every task refines.

    Attributes:
        name: the task's CLI name.
        prompts: template names by role (``cot``, ``sample``, ``propose``, ``step``, ``value``, ``vote``,
            ``judge_step``, ``reflect``, ``aggregate``, ``refine``); see ``workflows/prompts/``.
        max_depth: the default search depth in steps.
    """

    name = "qa"
    #: why a reply without an answer has none (recorded as the run's error)
    no_answer = "the model gave no 'Answer:' line"
    prompts: dict[str, str] = {
        "cot": "cot", "judge_step": "judge_step", "reflect": "reflect", "aggregate": "aggregate", "refine": "refine",
        "propose": "steps_propose", "step": "steps_next", "value": "steps_value", "vote": "steps_vote",
        "react": "react", "act": "act", "act_json": "act_json",
    }
    max_depth = 4

    def prompt(self, role: str) -> str:
        """The template name for ``role``."""
        return self.prompts.get(role) or Task.prompts[role]

    def problems(self) -> list[Problem]:
        """The task's problems, in a fixed order (empty for free questions)."""
        return []

    def held_out(self) -> list[Problem]:
        """The problems an evaluation may use: all of them, but for a task that keeps some apart for choosing
        prompts and demonstrations (GSM8K's first training problems)."""
        return self.problems()

    def problem(self, key: str) -> Problem:
        """A problem by id, or a new one whose question is ``key``."""
        return self.find(key) or Problem(id="q", question=key)

    def find(self, problem_id: str) -> Problem | None:
        """The problem with this id, or ``None``."""
        return next((p for p in self.problems() if p.id == problem_id), None)

    def extract(self, text: str) -> str | None:
        """The final answer in a reasoning text, or ``None``."""
        return find_answer(text)

    def extraction_rule(self, text: str) -> str:
        """Which rule found the answer in ``text`` (``answer:``, ``boxed``), or ``none``."""
        return answer_rule(text)

    def stated_answer(self, step: str) -> str | None:
        """The answer a step states outright (it ends a search path); by default what ``extract`` finds."""
        return self.extract(step)

    def messages(self, messages: list[Message]) -> list[Message]:
        """The chat for a solving prompt, as sent: a few-shot task puts its worked examples in here."""
        return messages

    def verify_steps(self, question: str, steps: list[str]) -> list[float] | None:
        """A programmatic score in [0, 1] of each step of a solution (needs no reference), or ``None`` when
        the task has no check at that grain. The default checks the last step's answer with ``verify``
        and scores the steps before it 1.0 (nothing to check there)."""
        if not self.has_verifier() or not steps:
            return None
        answer = self.extract(steps[-1])
        checked = self.verify(question, answer) if answer is not None else None
        return [*([1.0] * (len(steps) - 1)), checked[0] if checked is not None else 0.0]

    def normalize(self, answer: str) -> str:
        """A canonical form for voting: numbers compare by value, other text case- and space-insensitively.

        Example:
            >>> Task().normalize(" $1,200.0 dollars")
            '1200'
        """
        number = parse_number(answer)
        if number is not None:
            return str(number)
        return " ".join(answer.lower().split()).rstrip(".")

    def has_verifier(self) -> bool:
        """Whether the task checks answers itself (it overrides ``verify``); without, an LLM judge is used."""
        return type(self).verify is not Task.verify or type(self).verify_steps is not Task.verify_steps

    def verify(self, question: str, answer: str) -> tuple[float, str] | None:
        """A programmatic check of ``answer`` that needs no reference: (score in [0, 1], why), or ``None``
        when the task has no such verifier (an LLM judge is used instead)."""
        return None

    def score(self, problem: Problem, answer: str | None) -> bool | None:
        """Whether ``answer`` is correct against the reference (``None``: no reference to score against)."""
        if problem.reference is None:
            return None
        if answer is None:
            return False
        return self.normalize(answer) == self.normalize(problem.reference)

    def search(self, question: str, *, verifier: Any = None,
               **options: Any) -> tuple[WorldModel[Any, Any], SearchConfig[Any, Any]]:
        """The problem as a search problem: a world model and a search config (``options`` go to the
        config: ``generation``, ``judging``, ``n_evaluate``, ``temperature``). With ``verifier`` (a step
        verifier or its spec, see ``agentkit.workflows.verifiers``) it values the states instead of the
        config's own judging."""
        from agentkit.workflows.search.steps import StepsConfig, StepsWorld

        return StepsWorld(question, max_steps=self.max_depth, task=self), self._verified(StepsConfig(self, **options), verifier)

    def _verified(self, config: Any, verifier: Any) -> Any:
        if verifier is None:
            return config
        from agentkit.workflows.search.steps import VerifiedConfig
        from agentkit.workflows.verifiers import make_verifier

        return VerifiedConfig(config, make_verifier(verifier, self))
