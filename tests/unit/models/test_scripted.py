import pytest

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
