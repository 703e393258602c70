"""How the llamacpp backend splits n samples into batched groups (the decoding itself runs on the real model in
tests/integration/test_llamacpp.py)."""

from __future__ import annotations

import pytest

from agentkit.models import llamacpp_batch
from agentkit.models.llamacpp import LlamaCppModel
from agentkit.models.llamacpp_batch import Sample


class FakeDecoder:
    groups: list[list[int | None]] = []

    def __init__(self, llama, **options):
        self.calls = 0

    def generate(self, tokens, *, seeds, logprobs, **options):
        FakeDecoder.groups.append(list(seeds))
        self.calls += 1
        cached = 0 if self.calls == 1 else len(tokens) - 1
        out = []
        for i, seed in enumerate(seeds):
            s = Sample(i, None, bytearray(f"sample {seed}".encode()), tokens=2, finish="stop")
            if logprobs:
                s.logprobs = [{"Yes": -0.1, "No": -2.0}]
            out.append(s)
        return out, cached

    def close(self):
        pass


@pytest.fixture()
def model(monkeypatch):
    FakeDecoder.groups = []
    monkeypatch.setattr(llamacpp_batch, "BatchDecoder", FakeDecoder)
    m = LlamaCppModel("unused.gguf", llama=object(), batch_size=4)
    monkeypatch.setattr(m, "setup", lambda: None)
    monkeypatch.setattr(m, "tokenize_chat", lambda request: ([1, 2, 3, 4, 5], []))
    return m


def test_eight_samples_are_decoded_in_two_groups_of_four_sharing_one_prompt(model):
    out = model.generate_sync("q", n=8, temperature=0.7, seed=10)
    assert FakeDecoder.groups == [[10, 11, 12, 13], [14, 15, 16, 17]]
    assert out.texts == [f"sample {s}" for s in range(10, 18)] and [c.index for c in out.choices] == list(range(8))
    assert (out.usage.calls, out.usage.prompt_tokens, out.usage.completion_tokens) == (1, 5, 16)
    assert out.usage.cached_tokens == 0  # what the first group reused: the prompt is counted once


def test_logprobs_go_through_the_batch_path_even_for_one_sample(model):
    out = model.generate_sync("q", max_tokens=1, logprobs=2)
    assert FakeDecoder.groups == [[None]] and out.choices[0].logprobs == ({"Yes": -0.1, "No": -2.0},)


class FakeLlama:
    """Stands in for llama_cpp.Llama on the sequential path: one completion per call."""

    input_ids: list[int] = []
    n_tokens = 0

    def __init__(self):
        self.seeds = []

    def create_completion(self, tokens, **options):
        self.seeds.append(options["seed"])
        return {"choices": [{"text": f"one {options['seed']}", "finish_reason": "stop"}],
                "usage": {"completion_tokens": 2}}


def test_with_batching_off_n_samples_are_drawn_one_after_another(model):
    model.batch, model._llama = False, FakeLlama()
    out = model.generate_sync("q", n=3, temperature=0.7, seed=5)
    assert FakeDecoder.groups == [] and model._llama.seeds == [5, 6, 7]
    assert out.texts == ["one 5", "one 6", "one 7"] and out.usage.calls == 3


def test_repack_is_turned_off_only_where_the_build_would_use_amx(monkeypatch):
    import llama_cpp

    from agentkit.models import llamacpp

    monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda: b"CPU : AVX2 = 1 | AMX_INT8 = 1 |")
    assert llamacpp.uses_amx()
    monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda: b"CPU : AVX2 = 1 | AVX512 = 1 |")
    assert not llamacpp.uses_amx()


def test_model_params_are_set_while_a_model_is_built_and_restored_after():
    import llama_cpp.llama as high_level

    from agentkit.models.llamacpp import llama_model_params

    original = high_level.llama_cpp.llama_model_default_params
    with llama_model_params(use_extra_bufts=False):
        assert high_level.llama_cpp.llama_model_default_params().use_extra_bufts is False
    assert high_level.llama_cpp.llama_model_default_params is original
    assert original().use_extra_bufts is True
