"""Prompt assembly under a token budget: priorities, whole items, cut examples, never over budget."""

from agentkit.limits import estimate_tokens
from agentkit.memory.records import Concept, Insight, Reflection, TrajectoryRecord
from agentkit.memory.retrieve import PromptContext


def _context():
    steps = [{"action": f"go to drawer {i}", "observation": f"The drawer {i} is empty. " * 4} for i in range(20)]
    return PromptContext(
        insights=[Insight(text=f"Rule number {i}: check every drawer before the shelves.") for i in range(5)],
        reflections=[Reflection(trajectory_id=1, task="t", text="I looked in the same drawer three times.")],
        concepts=[Concept(name="key", text="keys are usually in drawers")],
        examples=[TrajectoryRecord(task="find the key", won=True, steps=steps)])


def test_every_budget_is_respected_and_sections_fill_in_priority_order():
    context = _context()
    for budget in (0, 20, 50, 100, 200, 400, 800, 3000):
        text = context.render(budget)
        assert estimate_tokens(text) <= budget + 4, budget
    small = context.render(60)
    assert small.startswith("Rules learned") and "Solved similar task" not in small
    assert "Rule number 4" not in small  # whole rules only: the later ones did not fit
    middle = context.render(400)
    assert "Lessons from failed attempts" in middle and "Facts about this world" in middle
    assert "Solved similar task:" in middle and "more steps)" in middle  # the example was cut, and says so
    full = context.render(3000)
    assert "go to drawer 19" in full and "more steps" not in full


def test_an_empty_context_renders_nothing():
    assert PromptContext().render(500) == "" and not PromptContext()
