import asyncio

import pytest

from agentkit.errors import UserError
from agentkit.models.openai_compat import OpenAICompatModel
from agentkit.models.testing import ScriptedModel, ScriptExhaustedError


def test_replies_come_in_order_one_per_sample():
    model = ScriptedModel(["a", "b", "c"])
    assert model.generate_sync("q", n=2).texts == ["a", "b"]
    assert model.generate_sync("q").text == "c"
    assert model.remaining == 0


def test_running_out_of_replies_names_the_call():
    model = ScriptedModel(["a"])
    model.generate_sync("first")
    with pytest.raises(ScriptExhaustedError, match="call #2.*'second'"):
        model.generate_sync("second")


def test_a_function_can_answer_from_the_request():
    model = ScriptedModel(lambda request: request.messages[-1]["content"].upper())
    assert model.generate_sync("shout").text == "SHOUT"


def test_stop_and_max_tokens_apply_like_a_real_backend():
    model = ScriptedModel(default="one two three four\nfive")
    assert model.generate_sync("q", stop=["\n"]).text == "one two three four"
    cut = model.generate_sync("q", max_tokens=2)
    assert cut.text == "one two" and cut.choices[0].finish_reason == "length"


def test_score_ranks_continuations_by_the_scorer_and_counts_their_tokens():
    model = ScriptedModel(scorer=lambda chat, text: 1.0 if "fridge" in text else -float(len(text)))
    scores = asyncio.run(model.score([{"role": "user", "content": "where?"},
                                      {"role": "assistant", "content": "Action:"}],
                                     [" look", " go to fridge 1", " go to drawer 1"]))
    assert scores.best() == 1 and scores.tokens == (1, 4, 4)
    assert scores.mean()[2] == -15.0 / 4
    assert model.score_requests[0].messages[-1]["content"] == "Action:"
    assert model.total.usage.calls == 1


def test_score_refuses_empty_continuations_and_backends_that_cannot_score():
    with pytest.raises(UserError, match="non-empty"):
        asyncio.run(ScriptedModel().score("q", ["a", ""]))
    with pytest.raises(UserError, match="cannot score"):
        asyncio.run(OpenAICompatModel("http://127.0.0.1:9/v1").score("q", ["a"]))
