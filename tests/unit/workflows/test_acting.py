import asyncio

from agentkit.context import RunContext
from agentkit.errors import ContextOverflowError
from agentkit.events import Stopped
from agentkit.models.testing import ScriptedModel
from agentkit.workflows import react
from agentkit.workflows.acting import (Transcript, compact_actions, estimate_tokens, match_action, repeat_hint,
                                      stale_action)
from tests.unit.envs.fakes import Coin

HEAD = [{"role": "system", "content": "Act."}, {"role": "user", "content": "Task: find the key\nA hall."}]


def _steps(n, size=300):
    return [{"thought": f"t{i}", "action": f"go to room {i}", "observation": f"Room {i}. " + "x" * size,
             "valid": True} for i in range(n)]


def _tokens(chat):
    return sum(estimate_tokens(m["content"]) for m in chat)


def test_transcript_stays_within_budget_for_a_long_episode_and_folds_rarely():
    layout = Transcript(budget=2500)
    folded, changes, previous = 0, 0, None
    for n in range(1, 80):
        chat, new = layout.messages(HEAD, _steps(n), folded, tail="Valid actions: look, go to room 1")
        assert _tokens(chat) <= 2500 and new >= folded
        if new != folded:
            changes += 1
        elif previous is not None:  # between folds the chat only grows at the end: the KV prefix is reused
            assert chat[: len(previous) - 1] == previous[:-1]
        folded, previous = new, chat
    assert 3 <= changes <= 20  # the prompt prefix changed on at most 1 step in 4
    assert "Your earlier steps" in chat[1]["content"] and "> go to room 0: Room 0." in chat[1]["content"] or \
        "steps not shown" in chat[1]["content"]
    assert chat[-1]["content"].endswith("Valid actions: look, go to room 1")


def test_compact_actions_and_forgiving_action_matching():
    actions = [f"go to drawer {i}" for i in range(1, 12)] + ["go to shelf 1", "go to shelf 3", "look"]
    assert compact_actions(actions) == ", ".join(sorted(actions))  # short lists stay literal
    assert compact_actions(actions, max_chars=50) == "go to drawer 1-11, go to shelf 1/3, look"
    assert match_action("> Go to drawer 2.", actions) == "go to drawer 2"
    assert match_action("go to drawer 12", actions) is None


def _play_coin(model, **options):
    async def go():
        env = Coin()
        try:
            return await react.build(**options).ainvoke({"task_id": "t0"}, context=RunContext(model, env=env))
        finally:
            await env.close()

    return asyncio.run(go())


def test_react_on_an_environment_uses_its_task_lists_actions_and_hints_at_repeats():
    model = ScriptedModel(["Thought: look.\nAction: look"] * 3 + ["Thought: take.\nAction: Take coin."])
    state = _play_coin(model, demos={"even": "Task: take a coin\nAction: take coin"}, resamples=0)
    assert state["won"] and state["question"] == "take the coin" and state["task_type"] == "even"
    assert [s["action"] for s in state["steps"]] == ["look", "look", "look", "take coin"]
    assert "solved example" in model.requests[0].messages[0]["content"]
    assert model.requests[0].messages[-1]["content"].endswith("Valid actions: look, take coin")
    assert "3 times in a row" in state["steps"][2]["observation"]
    assert {r.temperature for r in model.requests} == {0.0}


def test_react_resamples_an_action_already_taken_in_the_same_situation():
    model = ScriptedModel(["Thought: look.\nAction: look"] * 3 + ["Thought: take.\nAction: Take coin."])
    state = _play_coin(model)
    assert [s["action"] for s in state["steps"]] == ["look", "take coin"] and state["won"]
    assert [r.temperature for r in model.requests] == [0.0, 0.0, 0.8, 0.8]
    assert model.requests[2].messages[:-1] == model.requests[1].messages[:-1]  # the same prompt, plus a note
    retry = model.requests[2].messages[-1]["content"]
    assert "You already did 'look' in this situation" in retry and "Valid actions: take coin\n" in retry


def test_stale_action_ignores_the_repeat_hint_and_respects_changed_situations():
    steps = [{"action": "move east", "observation": "Kitchen.", "valid": True},
             {"action": "move east", "observation": "Hall." + repeat_hint(2), "valid": True}]
    assert not stale_action(steps, "Garden.", "move east")  # same action, new places each time
    assert stale_action(steps + [{"action": "look", "observation": "Hall.", "valid": True}], "Garden.", "look")
    assert not stale_action([], "Garden.", "look")
    refused = [{"action": "fly", "observation": "Invalid action 'fly'.", "valid": False}]
    assert stale_action(refused, "Garden.", "fly") and not stale_action(refused, "Garden.", "look")


def test_a_context_overflow_is_retried_on_half_the_budget_then_stops_the_episode():
    calls = []

    def overflow(request):
        calls.append(sum(len(m["content"]) for m in request.messages))
        raise ContextOverflowError("The prompt is 5000 tokens but the context window is 4096.")

    events = []

    async def go():
        env = Coin()
        try:
            async for mode, chunk in react.build().astream({"task_id": "t0"}, context=RunContext(
                    ScriptedModel(overflow), env=env), stream_mode=["custom", "values"]):
                events.append((mode, chunk))
        finally:
            await env.close()

    asyncio.run(go())
    final = [c for m, c in events if m == "values"][-1]
    assert final["stop_reason"].startswith("context overflow even after folding old steps")
    assert len(calls) == 2 and any(isinstance(c, Stopped) for m, c in events if m == "custom")


def test_constrained_acting_asks_for_json_with_the_valid_actions_and_drops_a_repeat_on_resample():
    import json

    replies = ['{"thought": "look first", "action": "look"}',
               '{"thought": "look again", "action": "look"}',  # stale: resampled with look left out
               '{"thought": "take it", "action": "take coin"}']
    model = ScriptedModel(replies)
    env = Coin()
    state = asyncio.run(react.build(max_steps=3, constrained=True).ainvoke(
        {"task_id": "t0"}, context=RunContext(model, env=env)))
    asyncio.run(env.close())
    assert state["won"] and [s["action"] for s in state["steps"]] == ["look", "take coin"]
    schemas = [r.schema for r in model.requests]
    assert schemas[0]["properties"]["action"]["enum"] == ["look", "take coin"]
    assert schemas[2]["properties"]["action"]["enum"] == ["take coin"] and model.requests[2].temperature == 0.8
    assert '"action": "<one of the valid actions' in model.requests[0].messages[0]["content"]
    assert json.loads(model.requests[1].messages[-2]["content"]) == {"thought": "look first", "action": "look"}


def test_a_constrained_reply_cut_short_falls_back_to_the_text_and_is_a_format_reminder():
    model = ScriptedModel(['{"thought": "I will', '{"thought": "ok", "action": "take coin"}'])
    env = Coin()
    state = asyncio.run(react.build(max_steps=3, constrained=True, resamples=0).ainvoke(
        {"task_id": "t0"}, context=RunContext(model, env=env)))
    asyncio.run(env.close())
    assert state["steps"][0]["action"] is None and "no action" in state["steps"][0]["observation"]
    assert state["won"]
