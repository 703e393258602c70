"""The vLLM request mapping, tested without vLLM (it cannot run on CPU-only machines)."""

import builtins
import types

import pytest

from agentkit.errors import BackendUnavailableError
from agentkit.models.base import GenerateRequest
from agentkit.models.vllm import VLLMModel, build_sampling_params, sampling_kwargs

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}}


def _request(**kw):
    return GenerateRequest(({"role": "user", "content": "q"},), **kw)


def test_requests_map_to_native_sampling_params():
    kwargs = sampling_kwargs(_request(n=4, temperature=0.7, top_p=0.9, max_tokens=64, stop=("\n",), seed=5))
    assert kwargs == {"n": 4, "temperature": 0.7, "top_p": 0.9, "max_tokens": 64, "stop": ["\n"], "seed": 5}


def test_logprobs_and_continued_messages_map_to_vllm():
    from agentkit.models.vllm import chat_prompt, output_logprobs

    assert sampling_kwargs(_request(logprobs=5))["logprobs"] == 5
    assert "logprobs" not in sampling_kwargs(_request())

    class Tokenizer:
        def apply_chat_template(self, messages, **kw):
            return kw

    chat = GenerateRequest(({"role": "user", "content": "q"}, {"role": "assistant", "content": "Step 1:"}))
    assert chat_prompt(Tokenizer(), chat) == {"tokenize": False, "add_generation_prompt": False,
                                              "continue_final_message": True}
    assert chat_prompt(Tokenizer(), _request())["add_generation_prompt"] is True
    lp = types.SimpleNamespace
    output = lp(logprobs=[{9454: lp(logprob=-0.2, decoded_token="Yes"), 2753: lp(logprob=-1.9, decoded_token="No")}])
    assert output_logprobs(output) == ({"Yes": -0.2, "No": -1.9},)
    assert output_logprobs(lp(logprobs=None)) is None


def _fake_vllm(new_api: bool):
    made = {}

    class Params:
        def __init__(self, **kw):
            made.update(kw)

    class Structured:
        def __init__(self, json):
            self.json = json

    module = types.SimpleNamespace(**({"StructuredOutputsParams": Structured} if new_api
                                      else {"GuidedDecodingParams": Structured}))
    return types.SimpleNamespace(SamplingParams=Params, sampling_params=module), made


@pytest.mark.parametrize(("new_api", "field"), [(True, "structured_outputs"), (False, "guided_decoding")])
def test_a_schema_becomes_guided_json_on_either_vllm_api(new_api, field):
    vllm, made = _fake_vllm(new_api)
    build_sampling_params(vllm, sampling_kwargs(_request(schema=SCHEMA)))
    assert made[field].json == SCHEMA
    assert "json_schema" not in made


def test_engine_is_configured_with_prefix_caching():
    assert VLLMModel("Qwen/Qwen2.5-7B-Instruct").engine_options["enable_prefix_caching"] is True


def test_missing_vllm_gives_a_clear_error(monkeypatch):
    real_import = builtins.__import__

    def no_vllm(name, *args, **kwargs):
        if name == "vllm":
            raise ImportError("No module named 'vllm'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_vllm)
    with pytest.raises(BackendUnavailableError, match=r"agentkit\[vllm\].*GPU.*qwen-1.5b"):
        VLLMModel("Qwen/Qwen2.5-7B-Instruct").generate_sync("hi")
