import asyncio

import pytest

from agentkit.context import RunContext
from agentkit.errors import ContextOverflowError, UserError
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


def test_choosing_by_score_writes_only_the_thought_and_plays_the_likeliest_fresh_action():
    # the model likes "look" best, but after one look the situation is the same, so the next best is played
    model = ScriptedModel([" I should look around.", " Look again?"],
                          scorer=lambda chat, text: {" look\n": -0.1, " take coin\n": -2.0}[text])
    state = _play_coin(model, choose="score")
    assert [s["action"] for s in state["steps"]] == ["look", "take coin"] and state["won"]
    assert state["steps"][0]["thought"] == "I should look around."
    assert model.requests[0].messages[-1] == {"role": "assistant", "content": "Thought:"}
    assert "Action" in model.requests[0].stop[0] and len(model.requests) == 2  # no action is generated
    scored = model.score_requests[0]
    assert scored.continuations == (" look\n", " take coin\n")
    assert scored.messages[-1]["content"] == "Thought: I should look around.\nAction:"
    assert "Thought: I should look around.\nAction: look" in [m["content"] for m in model.score_requests[1].messages]


def test_valid_actions_can_be_folded_or_left_out_of_the_prompt_when_they_are_scored():
    def scorer(chat, text):
        return {" look\n": -0.1, " take coin\n": -2.0}[text]

    shown = {}
    for mode in ("all", "none"):
        model = ScriptedModel([" Look.", " Take it."], scorer=scorer)
        state = _play_coin(model, choose="score", show_actions=mode)
        assert [s["action"] for s in state["steps"]] == ["look", "take coin"] and state["won"]
        assert model.score_requests[0].continuations == (" look\n", " take coin\n")  # scored all the same
        shown[mode] = model.score_requests[0].messages[-2]["content"]
    assert "Valid actions: look, take coin" in shown["all"] and "Valid actions" not in shown["none"]
    assert shown["none"] in shown["all"]  # the same turn, without the list
    model = ScriptedModel(["Thought: take.\nAction: take coin"])
    _play_coin(model, show_actions="folded")
    assert "Valid actions: look, take coin" in model.requests[0].messages[-1]["content"]  # nothing numbered to fold
    with pytest.raises(UserError, match="set choose='score'"):
        react.build(show_actions="none")
    with pytest.raises(UserError, match="all, folded or none"):
        react.build(show_actions="some")


def test_choosing_by_score_needs_a_backend_that_scores_and_refuses_constrained_replies():
    with pytest.raises(UserError, match="constrained off"):
        react.build(choose="score", constrained=True)
    with pytest.raises(UserError, match="choose must be"):
        react.build(choose="vote")
    with pytest.raises(UserError, match="track_state=True"):  # refused when built, not at the first step
        react.build(choose="score", thought="notes")


def test_tracked_state_is_shown_in_the_latest_turn_only_and_needs_a_notebook():
    class Notes:
        def start(self, task, opening):
            return {"seen": [opening]}

        def update(self, notes, action, observation):
            return {"seen": [*notes["seen"], observation]}

        def render(self, notes):
            return f"Your notes: {len(notes['seen'])} observations"

    class NotedCoin(Coin):
        notes = Notes()

    model = ScriptedModel(["Thought: look.\nAction: look", "Thought: take.\nAction: take coin"])
    final = asyncio.run(react.build(track_state=True).ainvoke({"task_id": "t0"},
                                                              context=RunContext(model, env=NotedCoin())))
    assert final["won"] and final["notes"]["seen"] == ["A coin lies here."] * 2 + ["You take the coin."]
    second = [m["content"] for m in model.requests[1].messages]
    assert second[-1].endswith("Your notes: 2 observations\nValid actions: look, take coin")
    assert not any("Your notes" in m for m in second[:-1])  # earlier turns are as they were: the prefix is cached
    with pytest.raises(UserError, match="keeps notes"):
        asyncio.run(react.build(track_state=True).ainvoke({"task_id": "t0"}, context=RunContext(model, env=Coin())))


def test_a_failed_trial_is_replayed_with_its_lesson_in_the_prompt_until_one_wins():
    model = ScriptedModel(["Thought: look.\nAction: look", "Thought: look.\nAction: look",
                           "I looked instead of taking the coin; take it at once.",
                           "Thought: take.\nAction: take coin"])
    graph = react.build(max_steps=2, resamples=0, trials=3)
    final = asyncio.run(graph.ainvoke({"task_id": "t0"}, context=RunContext(model, env=Coin())))
    assert final["won"] and [t["won"] for t in final["trials"]] == [False, True]
    assert final["trials"][0]["stop_reason"].startswith("step limit") and final["stop_reason"] is None
    assert final["reflections"] == ["I looked instead of taking the coin; take it at once."]
    lesson_prompt = model.requests[2].messages[-1]["content"]
    assert "> look -> A coin lies here." in lesson_prompt and "step limit" in lesson_prompt
    second_trial = model.requests[3].messages[1]["content"]
    assert "You tried this task before and failed" in second_trial and "take it at once" in second_trial
    assert [s["action"] for s in final["steps"]] == ["take coin"]  # the winning trial's own steps


def test_trials_stop_at_the_limit_and_one_trial_is_the_plain_agent():
    model = ScriptedModel(default="Thought: look.\nAction: look")
    final = asyncio.run(react.build(max_steps=1, resamples=0, trials=2).ainvoke(
        {"task_id": "t0"}, context=RunContext(model, env=Coin())))
    assert not final["won"] and len(final["trials"]) == 2 and len(final["reflections"]) == 1
    plain = asyncio.run(react.build(max_steps=1, resamples=0).ainvoke({"task_id": "t0"},
                                                                      context=RunContext(model, env=Coin())))
    assert "trials" not in plain and "retry" not in react.build(trials=1).get_graph().nodes
    with pytest.raises(UserError, match="trials"):
        react.build(trials=0)


def test_an_unsure_choice_looks_ahead_with_more_thoughts_and_pools_them_within_its_budget():
    def scorer(chat, text):  # after the first thought the two actions are a toss-up; the others settle it
        sure = "coin is right there" in chat[-1]["content"]
        return {" look\n": -0.7, " take coin\n": -0.1 if sure else -0.69}[text]

    model = ScriptedModel([" Hmm.", " The coin is right there.", " The coin is right there."], scorer=scorer)
    state = _play_coin(model, choose="score", lookahead=2, unsure_below=0.6)
    assert [s["action"] for s in state["steps"]] == ["take coin"] and state["won"]
    sampled = model.requests[1]
    assert sampled.n == 2 and sampled.temperature == 0.7 and len(model.score_requests) == 3
    cost = state["steps"][0]["tokens"]
    assert state["lookahead_tokens"] == cost["prompt"] + cost["completion"] + cost["scored"] - cost["cached"]
    model = ScriptedModel([" Hmm."], scorer=scorer)
    spent = _play_coin(model, choose="score", lookahead=2, unsure_below=0.6, lookahead_tokens=0)
    assert len(model.requests) == 1 and "lookahead_tokens" not in spent  # no budget: no second look
