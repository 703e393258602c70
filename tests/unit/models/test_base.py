import asyncio

import pytest

from agentkit.errors import StructuredOutputError, UserError
from agentkit.models.base import Choice, Completion, GenerateRequest
from agentkit.models.testing import ScriptedModel
from agentkit.models.usage import Usage, track_usage
from asyncio import run


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"n": 0}, "n must be a positive integer"),
        ({"temperature": 3.0}, "temperature must be in [0, 2]"),
        ({"top_p": 0.0}, "top_p must be in (0, 1]"),
        ({"max_tokens": 0}, "max_tokens must be a positive integer"),
        ({"schema": "object"}, "schema must be a JSON schema dict"),
    ],
)
def test_invalid_arguments_say_what_is_wrong(options, fragment):
    with pytest.raises(UserError, match=fragment.replace("[", r"\[").replace("(", r"\(")):
        ScriptedModel(["x"]).generate_sync("hi", **options)


def test_malformed_messages_are_rejected_with_the_expected_shape():
    with pytest.raises(UserError, match="role"):
        ScriptedModel(["x"]).generate_sync([{"role": "wizard", "content": "hi"}])
    with pytest.raises(UserError, match="No messages"):
        ScriptedModel(["x"]).generate_sync([])


def test_stop_string_becomes_a_tuple_and_prompt_string_one_user_message():
    model = ScriptedModel(["a b c"])
    model.generate_sync("hello", stop="\n")
    request = model.requests[0]
    assert request.stop == ("\n",)
    assert request.messages == ({"role": "user", "content": "hello"},)


def test_json_parses_and_checks_the_schema():
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    assert ScriptedModel([{"x": 3}]).generate_sync("?", schema=schema).json() == {"x": 3}
    with pytest.raises(StructuredOutputError, match="does not match the schema") as e:
        ScriptedModel([{"y": 3}]).generate_sync("?", schema=schema).json()
    assert e.value.text == '{"y": 3}'
    with pytest.raises(StructuredOutputError, match="not JSON"):
        ScriptedModel(["{oops"]).generate_sync("?", schema=schema).json()


def test_json_error_on_a_cut_off_answer_suggests_more_tokens():
    completion = Completion((Choice('{"x": ', "length"),), schema=None, model="m")
    with pytest.raises(StructuredOutputError, match="raise max_tokens"):
        completion.json()


def test_usage_is_counted_per_model_and_per_scope():
    model = ScriptedModel(default="one two three")
    with track_usage() as outer:
        model.generate_sync("a b")
        with track_usage() as inner:
            model.generate_sync("c", n=2)
    assert inner.usage.calls == 1 and inner.usage.completion_tokens == 6
    assert outer.usage.calls == 2 and outer.usage.prompt_tokens == 3
    assert model.total.usage.calls == 2
    assert outer.usage.seconds > 0


def test_concurrent_runs_sharing_a_model_count_only_their_own_calls():
    model = ScriptedModel(default="x")

    async def one_run(calls: int) -> Usage:
        with track_usage() as meter:
            for _ in range(calls):
                await model.generate("q")
                await asyncio.sleep(0)
        return meter.usage

    async def both():
        return await asyncio.gather(one_run(2), one_run(5))

    a, b = run(both())
    assert (a.calls, b.calls) == (2, 5)
    assert model.total.usage.calls == 7


def test_stream_yields_pieces_and_records_usage():
    model = ScriptedModel(["alpha beta gamma"])

    async def collect():
        with track_usage() as meter:
            pieces = [p async for p in model.stream("go")]
        return pieces, meter.usage

    pieces, usage = run(collect())
    assert pieces == ["alpha", " beta", " gamma"]
    assert usage.calls == 1 and usage.completion_tokens == 3


def test_generate_sync_inside_a_running_loop_points_to_await():
    async def misuse():
        ScriptedModel(["x"]).generate_sync("hi")

    with pytest.raises(UserError, match="await model.generate"):
        run(misuse())


def test_samples_get_distinct_seeds_derived_from_the_given_one():
    request = GenerateRequest(({"role": "user", "content": "q"},), n=4, seed=10)
    assert request.sample_seeds() == [10, 11, 12, 13]
    unseeded = GenerateRequest(({"role": "user", "content": "q"},), n=3).sample_seeds()
    assert len(set(unseeded)) == 3
