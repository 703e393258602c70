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



def _on_its_path(batch, continuations):
    """Every read is of a node on its continuation's own path, just before the token it scores."""
    return all(continuations[i][: batch.nodes[k].depth + 2][-2:] == [batch.nodes[k].token, token]
               and continuations[i][batch.nodes[k].depth + 1] == token for i, k, token in batch.reads)

def test_tree_batches_evaluate_a_shared_start_once_and_score_every_token_after_the_first():
    go = [1, 2]  # " go to"
    continuations = [[*go, 7, 3, 9], [*go, 7, 4, 9], [*go, 8, 9], [5, 9], [6]]  # cabinet 3, cabinet 4, fridge, look, one token
    batches = llamacpp_batch.tree_batches(continuations, max_tokens=64, max_seqs=8)
    assert len(batches) == 1
    nodes = batches[0].nodes
    assert len(nodes) == 7  # 1, 2, 7, 3, 4, 8, 5: shared once (12 tokens one continuation at a time)
    assert [(n.token, n.depth, len(n.seqs)) for n in nodes[:3]] == [(1, 0, 3), (2, 1, 3), (7, 2, 2)]
    assert batches[0].sequences == 4  # the one-token continuation needs no pass
    # every token but the first is read once, from the node of the path before it
    assert _on_its_path(batches[0], continuations)
    reads = sorted((i, nodes[k].depth + 1) for i, k, _ in batches[0].reads)
    assert reads == [(i, d) for i, c in enumerate(continuations) for d in range(1, len(c))]


def test_tree_batches_split_on_the_token_and_sequence_limits_without_losing_a_read():
    continuations = [[1, 2, 3, k, 9] for k in range(10)] + [[4] * 40]
    for max_tokens, max_seqs in ((6, 8), (40, 3), (512, 64)):
        batches = llamacpp_batch.tree_batches(continuations, max_tokens=max_tokens, max_seqs=max_seqs)
        assert all(len(b.nodes) <= max_tokens and b.sequences <= max_seqs for b in batches)
        read = sorted(i for b in batches for i, _, _ in b.reads)
        cut = [min(len(c), max_tokens) - 1 for c in continuations]  # a continuation longer than a batch is cut
        assert read == sorted(i for i, n in enumerate(cut) for _ in range(n))
        assert all(_on_its_path(b, continuations) for b in batches)
