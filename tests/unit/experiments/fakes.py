"""A task and a model for the design-search tests: the model is right only when told to be careful."""

from __future__ import annotations

from typing import ClassVar

from agentkit.models.testing import ScriptedModel
from agentkit.workflows.tasks.base import Problem, Task


class Sums(Task):
    """40 problems whose answer is always 4, solved with GSM8K's prompt (so its design sections apply)."""

    name = "sums"
    prompts: ClassVar[dict[str, str]] = {**Task.prompts, "cot": "gsm8k_cot"}

    def problems(self):
        return [Problem(f"s{i:02d}", f"What is {i} - {i} + 4?", "4") for i in range(40)]


class Picky(ScriptedModel):
    """``picky:`` answers 4 when its system prompt asks it to check its work carefully, else 3."""

    @classmethod
    def from_spec(cls, target: str, **options):
        def reply(request):
            system = request.messages[0]["content"] if request.messages else ""
            return "Checked. Answer: 4" if "carefully" in system else "Answer: 3"

        return cls(reply, name="picky", **options)


class Blip(ScriptedModel):
    """``blip:`` answers as ``picky:`` does, but its server fails the calls whose numbers are in ``failing``."""

    calls = 0
    failing: ClassVar[set[int]] = set()

    @classmethod
    def from_spec(cls, target: str, **options):
        from agentkit.errors import ModelServerError

        def reply(request):
            Blip.calls += 1
            if Blip.calls in Blip.failing:
                raise ModelServerError("The model server at 127.0.0.1:1 kept failing")
            return "Answer: 3"

        return cls(reply, name="blip", **options)
