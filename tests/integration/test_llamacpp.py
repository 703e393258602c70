"""The llamacpp backend on the real tiny embedded model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M)."""

import asyncio
import json
import subprocess
import sys

import pytest

from agentkit.errors import ModelFileError
from agentkit.models.llamacpp import ContextOverflowError, LlamaCppModel

pytestmark = pytest.mark.llm

QUESTION = "What is the capital of France? Reply with one word."


def test_greedy_short_answer(tiny):
    completion = tiny.generate_sync(QUESTION, max_tokens=8)
    assert completion.text.strip().rstrip(".") == "Paris"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.calls == 1 and completion.usage.completion_tokens >= 1
    assert completion.usage.prompt_tokens > 10


def test_greedy_is_deterministic_and_stream_matches_generate(tiny):
    prompt = "List three colours, comma separated."
    first = tiny.generate_sync(prompt, max_tokens=16).text

    async def collect():
        return [piece async for piece in tiny.stream(prompt, max_tokens=16)]

    pieces = asyncio.run(collect())
    assert len(pieces) > 2
    assert "".join(pieces) == first == tiny.generate_sync(prompt, max_tokens=16).text


def test_json_schema_output_is_constrained(tiny):
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
              "required": ["city", "country"]}
    completion = tiny.generate_sync("Name a big city in Japan and its country, as JSON.", schema=schema,
                                    max_tokens=40)
    value = completion.json()
    assert set(value) == {"city", "country"} and all(isinstance(v, str) for v in value.values())


def test_stop_sequences_and_length_limit(tiny):
    counted = tiny.generate_sync("Count from 1 to 20, separated by commas.", max_tokens=60, stop=["7"])
    assert "7" not in counted.text and "6" in counted.text
    cut = tiny.generate_sync("Write a long story about a dragon.", max_tokens=5)
    assert cut.choices[0].finish_reason == "length" and cut.usage.completion_tokens == 5


def test_sequential_n_samples_use_distinct_seeds_and_reuse_the_prompt(tiny, monkeypatch):
    monkeypatch.setattr(tiny, "batch", False)
    completion = tiny.generate_sync("Invent a name for a cat. One word.", n=4, temperature=1.0, seed=123,
                                    max_tokens=6)
    assert len(completion.choices) == 4 and completion.usage.calls == 4
    assert len(set(completion.texts)) > 1
    # After the first sample the whole prompt (but the last token) comes from the KV cache.
    assert completion.usage.cached_tokens >= 3 * (completion.usage.prompt_tokens // 4 - 1)
    again = tiny.generate_sync("Invent a name for a cat. One word.", n=4, temperature=1.0, seed=123, max_tokens=6)
    # The same seeds give the same samples where the cache was in the same state: samples 2-4 both times ran
    # on the cached prompt; the first run's first sample evaluated the prompt afresh, a different batch shape
    # whose last-bit rounding can pick another token at temperature 1 (seen on this machine: 'Bezy' / 'Isabella').
    assert again.texts[1:] == completion.texts[1:]


def test_n_samples_are_decoded_together_in_one_batch_sharing_the_prompt(tiny):
    prompt = "Invent a name for a dog. One word."
    completion = tiny.generate_sync(prompt, n=4, temperature=1.0, seed=7, max_tokens=6)
    assert len(completion.choices) == 4 and completion.usage.calls == 1
    assert len(set(completion.texts)) > 1
    assert 0 < completion.usage.completion_tokens <= 24
    again = tiny.generate_sync(prompt, n=4, temperature=1.0, seed=7, max_tokens=6)
    assert len(again.choices) == 4 and again.usage.calls == 1
    assert again.usage.cached_tokens == again.usage.prompt_tokens - 1  # the prompt stayed in the batch's cache
    # (the samples need not repeat exactly: where a sample's tokens sit in the shared cache changes the
    # order llama.cpp sums attention in, and at temperature 1 a last-bit difference can pick another token)


def test_batched_greedy_samples_match_a_single_greedy_answer(tiny):
    single = tiny.generate_sync(QUESTION, max_tokens=8).text
    batched = tiny.generate_sync(QUESTION, n=2, temperature=0.0, max_tokens=8)
    assert batched.texts == [single, single]


def test_batched_samples_honour_stop_strings_and_the_length_limit(tiny):
    out = tiny.generate_sync("Count from 1 to 20, one number per line.", n=2, temperature=0.0, max_tokens=40,
                             stop=["\n5"])
    assert all("5" not in t.split("\n")[-1] for t in out.texts) and all(c.finish_reason == "stop" for c in out.choices)
    cut = tiny.generate_sync("Count from 1 to 50, separated by commas.", n=2, temperature=0.0, max_tokens=5)
    assert [c.finish_reason for c in cut.choices] == ["length", "length"]


def test_logprobs_give_the_probability_of_a_yes(tiny):
    from agentkit.workflows.verifiers import yes_probability

    out = tiny.generate_sync("Is Paris the capital of France? Answer Yes or No.", max_tokens=1, logprobs=5)
    top = out.choices[0].logprobs[0]
    assert len(top) >= 2 and max(top.values()) <= 0.0
    assert yes_probability(top) > 0.5 and out.text.strip() == "Yes"  # the probability behind the greedy "Yes"
    # (the tiny model says Yes to "Is Berlin the capital of France?" too, so truth is not what is tested here)
    told = tiny.generate_sync("Reply with the single word No.", max_tokens=1, logprobs=5)
    assert told.text.strip() == "No" and yes_probability(told.choices[0].logprobs[0]) < 0.5


def test_a_last_assistant_message_is_continued(tiny):
    chat = [{"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "The capital of France is"}]
    out = tiny.generate_sync(chat, max_tokens=4)
    assert out.text.strip().startswith("Paris")


def test_a_growing_conversation_only_pays_for_new_tokens(tiny):
    chat = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say a fruit."}]
    first = tiny.generate_sync(chat, max_tokens=4)
    chat += [{"role": "assistant", "content": first.text}, {"role": "user", "content": "Another one."}]
    second = tiny.generate_sync(chat, max_tokens=4)
    new_tokens = second.usage.prompt_tokens - second.usage.cached_tokens
    assert second.usage.cached_tokens >= first.usage.prompt_tokens
    assert new_tokens < 20



def test_chats_taking_turns_each_keep_their_prompt_cache_and_answer_as_alone(tiny_path):
    rules = "You play a text game. Answer with one action, nothing else. " * 8
    rooms = {name: " ".join(f"In the {name} there is a {('box', 'key')[i % 2]} number {i}." for i in range(40))
             for name in ("kitchen", "garden")}  # about 500 tokens each, past the 256 that get parked

    def turns(model, order):
        chats = {name: [{"role": "system", "content": rules}, {"role": "user", "content": rooms[name]}]
                 for name in rooms}
        out = {}
        for name in order:
            reply = model.generate_sync(chats[name], max_tokens=12)
            chats[name] += [{"role": "assistant", "content": reply.text}, {"role": "user", "content": "Next?"}]
            out.setdefault(name, []).append(reply)
        return out

    interleaved = ["kitchen", "garden"] * 3
    taking_turns = turns(LlamaCppModel(str(tiny_path), n_ctx=2048), interleaved)
    alone = turns(LlamaCppModel(str(tiny_path), n_ctx=2048), sorted(interleaved))
    evicting = turns(LlamaCppModel(str(tiny_path), n_ctx=2048, prefix_slots=0), interleaved)
    for name in rooms:
        assert [r.text for r in taking_turns[name]] == [r.text for r in alone[name]]
        for before, reply in zip(taking_turns[name], taking_turns[name][1:]):
            assert reply.usage.cached_tokens >= before.usage.prompt_tokens  # only the new turn is read
        later = evicting[name][1:]
        assert all(r.usage.cached_tokens < taking_turns[name][0].usage.prompt_tokens / 2 for r in later)


def test_without_prefix_cache_nothing_is_reused(tiny_path):
    model = LlamaCppModel(str(tiny_path), n_ctx=1024, prefix_cache=False)
    model.generate_sync(QUESTION, max_tokens=2)
    assert model.generate_sync(QUESTION, max_tokens=2).usage.cached_tokens == 0


def test_context_overflow_is_a_clear_error(tiny_path):
    model = LlamaCppModel(str(tiny_path), n_ctx=256)
    with pytest.raises(ContextOverflowError, match=r"context window is 256.*n_ctx=512"):
        model.generate_sync("word " * 400, max_tokens=4)
    assert model.generate_sync(QUESTION, max_tokens=4).text  # the model is still usable


def test_a_truncated_gguf_is_a_clear_error(tiny_path, tmp_path):
    broken = tmp_path / "broken.gguf"
    with tiny_path.open("rb") as f:
        broken.write_bytes(f.read(4_000_000))
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        LlamaCppModel(str(broken)).generate_sync("hi")


def test_cli_run_answers_with_the_embedded_model(tiny_path):
    out = subprocess.run(
        [sys.executable, "-m", "agentkit.cli", "run", "What is 12 + 30?", "--model", f"llamacpp:{tiny_path}",
         "--max-tokens", "96", "--json"], capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["state"]["answer"] is not None and "42" in data["state"]["answer"]
    assert data["usage"]["calls"] == 1 and data["usage"]["completion_tokens"] > 0


def _reference_logprobs(path, text, bos, options):
    """Each option's log-likelihood after ``text`` by llama-cpp-python alone: the whole text evaluated in one
    pass with the logits of every position kept, then summed over the option's tokens."""
    import llama_cpp
    import numpy as np

    llama = llama_cpp.Llama(model_path=str(path), n_ctx=2048, logits_all=True, verbose=False)
    prompt = llama.tokenize(text, add_bos=bos, special=True)
    sums = []
    for option in options:
        tokens = llama.tokenize(text + option.encode(), add_bos=bos, special=True)
        start = next(i for i, (a, b) in enumerate(zip([*prompt, -1], tokens)) if a != b)
        llama.reset()
        llama.eval(tokens)
        rows = np.asarray(llama.scores[start - 1: len(tokens) - 1], dtype=np.float64)
        rows -= rows.max(axis=1, keepdims=True)
        logsoftmax = rows - np.log(np.exp(rows).sum(axis=1, keepdims=True))
        sums.append(float(sum(logsoftmax[i, t] for i, t in enumerate(tokens[start:]))))
    return sums


def test_scoring_continuations_matches_llama_cpps_own_likelihood(tiny, tiny_path):
    chat = [{"role": "user", "content": "You are in a kitchen holding nothing. On the counter is an apple. "
                                        "Task: put the apple in the fridge. What do you do?"},
            {"role": "assistant", "content": "Action:"}]
    # the last three share their first tokens, which are evaluated once for all three (a prefix tree)
    options = [" take apple from counter\n", " sing a song\n", " go to bed 1\n", " go to bed 10\n", " go to fridge 1\n"]
    scores = asyncio.run(tiny.score(chat, options))
    assert scores.best() in (0, 4) and all(lp < 0 for lp in scores.logprobs)
    assert scores.usage.scored_tokens == sum(scores.tokens) and scores.tokens[0] >= 4 and scores.usage.prompt_tokens > 20
    alone = [asyncio.run(tiny.score(chat, [option])) for option in options]
    assert all(one.usage.cached_tokens > 0 for one in alone)  # the chat stays in the cache between calls
    text, bos, _ = tiny._render(chat)
    reference = _reference_logprobs(tiny_path, text, bos, options)
    # Batched, alone and the reference differ only by rounding: llama.cpp's CPU kernels change with the
    # batch's shape (ggml-org/llama.cpp#3014, #4479), which here moved a sum by up to 0.27 nats over 4 tokens
    # (0.07 a token) depending on what the cache held. A token scored at the wrong position moves it by 4-7
    # nats a token (measured: 20-35 nats on these options).
    for batched, one, expected, tokens in zip(scores.logprobs, alone, reference, scores.tokens, strict=True):
        assert batched == pytest.approx(expected, abs=0.25 * tokens)
        assert one.logprobs[0] == pytest.approx(expected, abs=0.25 * tokens)
    assert max(range(len(options)), key=reference.__getitem__) == scores.best()
