"""Control flow of the sampling, verifying, reflecting and acting workflows on a scripted model."""

import asyncio
import math
from pathlib import Path

import pytest

from agentkit.context import RunContext
from agentkit.envs.base import Obs, StepResult
from agentkit.events import Action, Prune, Stopped
from agentkit.limits import Limits
from agentkit.models.base import Choice
from agentkit.models.testing import ScriptedModel
from agentkit.runtime import run
from agentkit.workflows import best_of_n, got, react, reflexion, self_consistency
from agentkit.workflows.registry import WORKFLOWS, build_workflow, get_builder
from agentkit.workflows.tasks import get_task

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _run(graph, question, model, **ctx):
    return asyncio.run(run(graph, {"question": question}, RunContext(model, **ctx)))


async def _collect(graph, question, ctx):
    from agentkit.runtime import stream_run

    return [e async for e in stream_run(graph, {"question": question}, ctx)]


# --- self-consistency -------------------------------------------------------------------------------------


def test_self_consistency_samples_in_one_native_n_call_and_counts_votes():
    model = ScriptedModel(["Answer: 12", "Answer: 12.0", "Answer: 13", "Answer: $12", "no idea"])
    state = _run(self_consistency.build(n=5), "q", model)
    assert state["answer"] == "12" and state["votes"] == {"12": 3, "13": 1}
    assert len(model.requests) == 1 and model.requests[0].n == 5 and model.requests[0].temperature == 0.7


def test_self_consistency_breaks_ties_by_first_seen_and_handles_no_answer():
    assert _run(self_consistency.build(n=4), "q", ScriptedModel(["Answer: b", "Answer: a", "Answer: a", "Answer: b"]))["answer"] == "b"
    state = _run(self_consistency.build(n=3), "q", ScriptedModel(["hmm", "no", "dunno"]))
    assert state["answer"] is None and state["error"] == "none of the 3 samples gave an answer"


# --- best-of-N ---------------------------------------------------------------------------------------------


def test_best_of_n_with_the_tasks_programmatic_verifier_makes_no_judge_calls():
    model = ScriptedModel(["Answer: 4 + 9 + 10 + 13", "Answer: (13 - 9) * (10 - 4) = 24", "Answer: 24"])
    state = _run(best_of_n.build(task="game24", n=3), "4 9 10 13", model)
    assert state["answer"] == "(13 - 9) * (10 - 4)" and state["score"] == 1.0
    assert len(model.requests) == 1
    feedback = [c["feedback"] for c in state["candidates"]]
    assert feedback[0] == "4 + 9 + 10 + 13 = 36, not 24" and "uses 24" in feedback[2]


def test_best_of_n_with_an_llm_judge_scores_each_candidate_from_its_yes_probability():
    samples = iter(["Answer: 381", "Answer: 391"])

    def respond(req):
        if "You check math solutions" in req.messages[0]["content"]:
            assert req.logprobs and req.max_tokens == 1
            yes = 0.9 if "Answer: 391" in req.messages[-1]["content"] else 0.2
            return Choice("Yes", logprobs=({"Yes": math.log(yes), "No": math.log(1 - yes)},))
        return next(samples)

    state = _run(best_of_n.build(n=2, verifier="llm"), "17 * 23?", ScriptedModel(respond))
    assert state["answer"] == "391" and state["score"] == pytest.approx(0.9)


def test_the_llm_judge_reads_a_yes_or_no_reply_when_the_backend_gives_no_logprobs():
    samples = iter(["Answer: 381", "Answer: 391"])

    def respond(req):
        if "You check math solutions" in req.messages[0]["content"]:
            return "Yes" if "Answer: 391" in req.messages[-1]["content"] else "No"
        return next(samples)

    state = _run(best_of_n.build(n=2, verifier="llm"), "17 * 23?", ScriptedModel(respond))
    assert state["answer"] == "391" and state["score"] == 1.0


def test_best_of_n_takes_a_verifier_function():
    state = _run(best_of_n.build(n=2, verifier=lambda q, a: a == "b"), "q", ScriptedModel(["Answer: a", "Answer: b"]))
    assert state["answer"] == "b"


# --- Reflexion ---------------------------------------------------------------------------------------------


def test_reflexion_carries_every_reflection_into_later_trials_and_stops_at_the_limit():
    model = ScriptedModel(["Answer: 4 * 6", "Lesson one.", "Answer: 9 + 13", "Lesson two.", "Answer: 10 + 13"])
    state = _run(reflexion.build(task="game24", max_trials=3), "4 9 10 13", model)
    assert state["reflections"] == ["Lesson one.", "Lesson two."]
    third_trial = model.requests[4].messages[0]["content"]
    assert "Lesson one." in third_trial and "Lesson two." in third_trial
    assert "Lesson" not in model.requests[0].messages[0]["content"]
    assert len(state["candidates"]) == 3 and all(c["score"] == 0.0 for c in state["candidates"])
    assert model.remaining == 0  # exactly three trials and two reflections


# --- Graph-of-Thoughts -------------------------------------------------------------------------------------


def test_got_keeps_the_best_aggregates_and_refines_until_solved():
    model = ScriptedModel(["Answer: 13 + 9", "no answer here", "Answer: 4 * 9", "Answer: 13 + 9 + 4 - 10",
                           "Answer: 4 + 9 + 10 + 13", "Answer: (13 - 9) * (10 - 4)"])
    state, events = None, asyncio.run(_collect(got.build(task="game24", k=3, keep=2, refine_rounds=3), "4 9 10 13",
                                                RunContext(model)))
    state = events[-1].state
    assert [c["origin"] for c in state["candidates"]] == ["sample", "sample", "aggregate", "refine", "refine"]
    assert state["answer"] == "(13 - 9) * (10 - 4)" and state["refinements"] == 2
    assert sum(isinstance(e, Prune) and "best 2" in e.reason for e in events) == 1


# --- ReAct -------------------------------------------------------------------------------------------------


class RoomEnv:
    """A two-room environment listing its admissible actions."""

    def __init__(self):
        self.stepped = []

    async def reset(self, task=None):
        return Obs("You are in the hall.", task="find the key", admissible=["go kitchen", "look"])

    async def step(self, action):
        self.stepped.append(action)
        if action == "go kitchen":
            return StepResult("The key is here.", admissible=["take key", "look"])
        if action == "take key":
            return StepResult("You take the key.", reward=1.0, done=True, won=True)
        return StepResult("Nothing special.")

    async def close(self):
        pass


def test_react_validates_actions_and_recovers_from_unparseable_output():
    env = RoomEnv()
    model = ScriptedModel(["Thought: fly.\nAction: fly away", "I should go to the kitchen.",
                           "Thought: go.\nAction: go kitchen", "Thought: take it.\nAction: take key"])
    events = asyncio.run(_collect(react.build(), "find the key", RunContext(model, env=env)))
    state = events[-1].state
    assert state["won"] and state["reward"] == 1.0 and state["stop_reason"] is None
    assert env.stepped == ["go kitchen", "take key"]  # the invalid action never reached the environment
    observations = [s["observation"] for s in state["steps"]]
    assert observations[0].startswith("Invalid action 'fly away'. Choose exactly one of: go kitchen, look")
    assert observations[1].startswith("Your reply had no action")
    assert [e.valid for e in events if isinstance(e, Action)] == [False, False, True, True]
    # the model saw its mistakes as observations in the chat
    assert model.requests[2].messages[-1]["content"].startswith("Observation: Your reply had no action")


def test_react_stops_after_repeated_unparseable_replies_and_at_the_step_limit():
    state = _run(react.build(max_parse_failures=2), "q", ScriptedModel(default="no idea"))
    assert state["stop_reason"] == "2 replies in a row had no action" and state["answer"] is None
    state = _run(react.build(max_steps=2), "q", ScriptedModel(default="Thought: t\nAction: calculator[1 + 1]"))
    assert state["stop_reason"] == "step limit reached (2 steps)" and len(state["steps"]) == 2


def test_react_tool_errors_are_observations():
    model = ScriptedModel(["Thought: t\nAction: calculator[1 / 0]", "Thought: t\nAction: finish[none]"])
    state = _run(react.build(), "q", model)
    assert state["steps"][0]["observation"] == "Error: division by zero." and state["answer"] == "none"


# --- budgets, registry, snapshots ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sc", "best-of-n", "reflexion", "got", "cot", "react", "planned", "debate"])
def test_a_spent_budget_ends_every_workflow_cleanly(name):
    model = ScriptedModel(default="Answer: 1")
    ctx = RunContext(model, limits=Limits(calls=1))
    ctx.usage.add(ctx.spent.__class__(calls=1))  # already spent before the run
    events = asyncio.run(_collect(build_workflow(name), "q", ctx))
    assert any(isinstance(e, Stopped) and "call limit" in e.reason for e in events)
    assert events[-1].state["stop_reason"] == "call limit reached (1 of 1 calls)" and not model.requests


def test_a_token_budget_is_enforced_between_calls():
    ctx = RunContext(ScriptedModel(default="Answer: 5 words in this reply"), limits=Limits(tokens=30))
    state = asyncio.run(run(reflexion.build(max_trials=10, verifier=lambda q, a: 0.0), {"question": "q"}, ctx))
    assert state["stop_reason"].startswith("token limit reached") and ctx.spent.calls < 10


def test_every_workflow_draws_as_its_snapshot():
    for name in WORKFLOWS:
        drawing = get_builder(name)().get_graph().draw_mermaid()
        snapshot = SNAPSHOTS / f"{name}.mmd"
        if not snapshot.exists():
            snapshot.write_text(drawing)
            pytest.fail(f"wrote a new snapshot {snapshot.name}; check it and rerun")
        assert drawing == snapshot.read_text(), name


def test_tasks_score_answers_exactly():
    game24, arithmetic = get_task("game24"), get_task("arithmetic")
    p = game24.problem("4 9 10 13")
    assert game24.score(p, "(13-9)*(10-4)") and not game24.score(p, "4*6") and not game24.score(p, None)
    problems = arithmetic.problems()
    assert len(problems) == 96 and problems == get_task("arithmetic").problems()
    assert arithmetic.score(problems[1], f"He has ${problems[1].reference}.00 left")
    assert not arithmetic.score(problems[1], "He has 1,000 dollars left")


def test_unknown_builder_options_are_refused_with_the_ones_it_takes():
    from agentkit.errors import UserError

    with pytest.raises(UserError, match="does not take --algo. It takes: task, n, temperature"):
        build_workflow("sc", algo="bfs")


def test_a_verifier_the_task_cannot_provide_is_refused_before_any_model_call():
    from agentkit.errors import UserError

    with pytest.raises(UserError, match="has no programmatic verifier"):
        best_of_n.build(task="arithmetic", verifier="task")
    with pytest.raises(UserError, match="Unknown verifier 'oracle'"):
        got.build(verifier="oracle")
