"""Collaboration roles: the planner's plan reaches the solver, the critic may replace an action, and a debate
ends in agreement or a judgement; their events stream through stream_run."""

import asyncio

from agentkit.context import RunContext
from agentkit.envs.base import Obs, StepResult, ThreadedEnv
from agentkit.events import Stopped, Thought, Token
from agentkit.limits import Limits
from agentkit.models.testing import ScriptedModel
from agentkit.runtime import run, stream_run
from agentkit.workflows import debate, react, roles


async def _events(graph, inputs, ctx):
    return [e async for e in stream_run(graph, inputs, ctx)]


def test_the_solvers_events_stream_through_the_planned_graph():
    model = ScriptedModel(["1. Count.", "Answer: 3", "Answer: 3"])
    events = asyncio.run(_events(roles.build(workflow="sc", n=2), {"question": "1+2?"}, RunContext(model)))
    thoughts = [e for e in events if isinstance(e, Thought)]
    assert thoughts[0].node == "plan" and [t.node for t in thoughts[1:]] == ["sample", "sample"]
    assert events[-1].state["answer"] == "3" and events[-1].state["plan"] == "1. Count."
    assert "A plan to follow:\n1. Count." in model.requests[1].messages[-1]["content"]


def test_a_plan_that_spends_the_budget_ends_the_run_without_solving():
    ctx = RunContext(ScriptedModel(default="Answer: 3"), limits=Limits(calls=1))
    ctx.usage.add(ctx.spent.__class__(calls=1))
    state = asyncio.run(run(roles.build(), {"question": "1+2?"}, ctx))
    assert state["answer"] is None and state["error"].startswith("call limit reached")


class Doors(ThreadedEnv):
    name = "doors"

    def task_ids(self):
        return ["1"]

    def _reset(self, task_id):
        return Obs("Two doors.", task="leave the room", admissible=["open red door", "open blue door"])

    def _step(self, action):
        won = action == "open blue door"
        return StepResult("You are out." if won else "A wall.", reward=float(won), done=won, won=won,
                          admissible=["open red door", "open blue door"])


def _play(graph, model):
    async def go():
        env = Doors()
        try:
            return await run(graph, {"task_id": "1"}, RunContext(model, env=env))
        finally:
            await env.close()
    return asyncio.run(go())


def test_the_react_planner_writes_a_plan_the_agent_sees_first():
    model = ScriptedModel(["1. Open the blue door.", "Thought: go.\nAction: open blue door"])
    state = _play(react.build(planner=True), model)
    assert state["won"] and state["plan"] == "1. Open the blue door."
    assert "Your plan:\n1. Open the blue door." in model.requests[1].messages[1]["content"]


def test_the_critic_replaces_an_action_only_with_a_valid_better_one():
    revised = _play(react.build(critic=True, max_steps=1),
                    ScriptedModel(["Thought: red.\nAction: open red door", "REVISE: open blue door"]))
    assert revised["won"] and revised["steps"][0]["action"] == "open blue door"
    assert "(critic: open red door -> open blue door)" in revised["steps"][0]["thought"]
    kept = _play(react.build(critic=True, max_steps=1),
                 ScriptedModel(["Thought: red.\nAction: open red door", "REVISE: climb out the window"]))
    assert not kept["won"] and kept["steps"][0]["action"] == "open red door"


def test_a_debate_that_still_disagrees_is_judged_and_a_bad_judgement_keeps_the_first():
    model = ScriptedModel(["Answer: 7", "Answer: 8", "Still 7. Answer: 7", "Still 8. Answer: 8", "B"])
    state = asyncio.run(run(debate.build(rounds=1), {"question": "3+4?"}, RunContext(model)))
    assert (state["answer"], state["decided_by"], len(state["turns"])) == ("8", "judge", 2)
    model = ScriptedModel(["Answer: 7", "Answer: 8", "Answer: 7", "Answer: 8", "Both are fine."])
    state = asyncio.run(run(debate.build(rounds=1), {"question": "3+4?"}, RunContext(model)))
    assert (state["answer"], state["decided_by"]) == ("7", "unclear judgement (first debater)")
    other = model.requests[1].messages  # [0] is the opening call, both debaters in one batch
    assert other[-2] == {"role": "assistant", "content": "Answer: 7"} and "Answer: 8" in other[-1]["content"]


def test_a_debate_without_answers_says_why_and_one_answer_wins_alone():
    state = asyncio.run(run(debate.build(rounds=0), {"question": "q"}, RunContext(ScriptedModel(["hmm", "Answer: 2"]))))
    assert (state["answer"], state["decided_by"]) == ("2", "the only answer")
    state = asyncio.run(run(debate.build(rounds=0), {"question": "q"}, RunContext(ScriptedModel(default="hmm"))))
    assert state["answer"] is None and state["error"].startswith("neither debater gave an answer")


def test_a_debate_with_no_budget_to_judge_keeps_the_first_debater():
    ctx = RunContext(ScriptedModel(["Answer: 7", "Answer: 8"]), limits=Limits(calls=1))
    events = asyncio.run(_events(debate.build(rounds=0), {"question": "3+4?"}, ctx))
    assert any(isinstance(e, Stopped) for e in events)
    assert events[-1].state["decided_by"] == "no judgement (first debater)" and events[-1].state["answer"] == "7"
    assert not any(isinstance(e, Token) for e in events)


def test_react_recalls_only_the_kinds_of_memory_it_is_given():
    import pytest

    from agentkit.errors import UserError
    from agentkit.workflows.react import _recall_counts

    assert _recall_counts(["insight"]) == {"examples": 0, "reflections": 0, "insights": 5, "concepts": 0}
    with pytest.raises(UserError, match="memory_kinds has dreams"):
        react.build(memory_kinds=["dreams"])
