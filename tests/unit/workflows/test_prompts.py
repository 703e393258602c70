"""Prompts as data: a run's overrides (role -> template text, per prompt name) reach every node that renders
that prompt, concurrent runs keep their own, and an override that breaks the workflow's fields is refused
before any model call."""

import asyncio

import pytest

from agentkit.context import RunContext
from agentkit.errors import UserError
from agentkit.models.testing import ScriptedModel
from agentkit.runtime import run
from agentkit.templates import check_prompts, render
from agentkit.workflows import cot, react, self_consistency
from tests.unit.envs.fakes import Coin


def test_two_concurrent_runs_of_one_graph_each_see_their_own_prompts():
    graph = cot.build()
    models = [ScriptedModel(["Answer: 4"]), ScriptedModel(["Answer: 4"])]
    contexts = [RunContext(models[0], prompts={"cot": {"system": "Answer like a pirate."}}),
                RunContext(models[1], prompts={"cot": {"system": "Answer like a judge.", "user": "Case: {question}"}})]

    async def both():
        return await asyncio.gather(*(run(graph, {"question": "2+2?"}, ctx) for ctx in contexts))

    states = asyncio.run(both())
    assert [s["answer"] for s in states] == ["4", "4"]
    first, second = (list(m.requests[0].messages) for m in models)
    assert first == [{"role": "system", "content": "Answer like a pirate."}, {"role": "user", "content": "2+2?"}]
    assert second == [{"role": "system", "content": "Answer like a judge."}, {"role": "user", "content": "Case: 2+2?"}]
    plain = ScriptedModel(["Answer: 4"])
    asyncio.run(run(graph, {"question": "2+2?"}, RunContext(plain)))
    assert list(plain.requests[0].messages) == render("cot", question="2+2?")  # the graph itself is untouched


def test_overrides_reach_sampling_acting_and_the_memorys_reflection():
    model = ScriptedModel(["Answer: 8"] * 3)
    asyncio.run(run(self_consistency.build(n=3), {"question": "q"},
                    RunContext(model, prompts={"cot": {"system": "Vote-worthy answers only."}})))
    assert model.requests[0].messages[0]["content"] == "Vote-worthy answers only."

    from agentkit.memory.embed import HashEmbedder
    from agentkit.memory.experience import Memory

    env, memory = Coin(), Memory(None, embedder=HashEmbedder())
    model = ScriptedModel(["Thought: look.\nAction: look", "Thought: again.\nAction: look", "Look less."])
    prompts = {"act": {"system": "Play the coin game.{demo}"},
               "reflect_episode": {"system": "One lesson, five words."}}
    state = asyncio.run(run(react.build(max_steps=2, resamples=0), {"task_id": "t0"},
                            RunContext(model, env=env, memory=memory, prompts=prompts)))
    asyncio.run(env.close())
    assert [r.messages[0]["content"] for r in model.requests] == ["Play the coin game.", "Play the coin game.",
                                                                   "One lesson, five words."]
    assert "Task: take the coin" in model.requests[0].messages[1]["content"]  # the user turn is the packaged one
    assert memory.store.list("reflection")[0].text == "Look less." and len(state["memory_ids"]) == 2


@pytest.mark.parametrize(("prompts", "message"), [
    ({"cot": {"user": "Think hard."}}, "Prompt override 'cot' drops {question}, which the workflow fills"),
    ({"act": {"user": "Task: {goal}"}}, "drops {observation}"),
    ({"cot": {"user": "{question} in {language}"}}, "uses {language}, which the workflow does not fill"),
    ({"act_json": {"system": 'Reply {"thought": ..., "action": ...} {demo}'}}, "write {{ and }} for literal braces"),
    ({"cto": {"user": "{question}"}}, "no packaged prompt named 'cto' to override; prompts: act, act_json"),
    ({"cot": {"assistant": "{question}"}}, "has role 'assistant'; roles are system, user"),
    ({"cot": "{question}"}, "must map roles (system, user) to template text"),
])
def test_a_bad_override_is_refused_before_any_model_call(prompts, message):
    model = ScriptedModel(["Answer: 4"])
    with pytest.raises(UserError) as e:
        asyncio.run(run(cot.build(), {"question": "2+2?"}, RunContext(model, prompts=prompts)))
    assert message in str(e.value)
    assert model.requests == []
    with pytest.raises(UserError):
        check_prompts(prompts)
