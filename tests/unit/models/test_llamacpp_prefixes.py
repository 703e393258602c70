"""Parked KV prefixes, on a fake context that keeps llama-cpp-python's bookkeeping (``input_ids``,
``n_tokens``) and whose "KV" is the token list itself: conversations taking turns each find their own prefix
again, the least recently used is dropped past the slots, and short divergences park nothing."""

import numpy as np

from agentkit.models.llamacpp_prefixes import ParkedPrefixes, common_prefix


class _Ctx:
    def __init__(self, llama):
        self.llama = llama

    def kv_cache_seq_rm(self, seq, start, end):
        self.llama.kv = self.llama.kv[:start]
        return True


class _Llama:
    """What a call does to llama-cpp-python's state: the prompt and the reply end up in the KV."""

    def __init__(self, n_ctx=4096):
        self.input_ids = np.zeros(n_ctx, dtype=np.intc)
        self.n_tokens = 0
        self.kv: list[int] = []
        self._ctx = _Ctx(self)
        self.read = 0  # prompt tokens evaluated, i.e. not found in the KV

    def call(self, prompt, reply=()):
        shared = common_prefix(self.kv, prompt)
        self.read += len(prompt) - shared
        self.kv = [*prompt, *reply]
        self.input_ids[: len(self.kv)] = self.kv
        self.n_tokens = len(self.kv)


class _Prefixes(ParkedPrefixes):
    def _copy_out(self):
        return list(self.llama.kv), len(self.llama.kv)

    def _copy_in(self, parked):
        self.llama.kv = list(parked.state)
        return True


def _conversation(tag, turns, system=tuple(range(100))):
    """The prompts of a conversation that grows by 300 tokens a turn after a shared system prompt."""
    prompt = [*system]
    for turn in range(turns):
        prompt = [*prompt, *[tag * 10_000 + turn * 1000 + i for i in range(300)]]
        yield list(prompt)


def _play(llama, prefixes, conversations):
    for prompts in zip(*conversations):  # they take turns
        for prompt in prompts:
            prefixes.switch(prompt)
            llama.call(prompt)


def test_conversations_taking_turns_each_read_only_their_new_tokens():
    llama = _Llama()
    prefixes = _Prefixes(llama, slots=4)
    _play(llama, prefixes, [list(_conversation(tag, 4)) for tag in (1, 2, 3)])
    first_turns = 100 + 3 * 300  # the system prompt once, then each conversation's first 300 tokens
    assert llama.read == first_turns + 3 * 3 * 300  # later turns read their 300 new tokens only
    assert prefixes.restores == 3 * 3 and len(prefixes.parked) == 2  # the live one is not parked

    alone = _Llama()
    _play(alone, _Prefixes(alone, slots=0), [list(_conversation(tag, 4)) for tag in (1, 2, 3)])
    assert alone.read == first_turns + 3 * (600 + 900 + 1200)  # all but the shared system prompt, every turn


def test_past_its_slots_the_least_recently_used_prefix_is_dropped():
    llama = _Llama()
    prefixes = _Prefixes(llama, slots=1)
    (a1, a2), (b1, _), (c1, c2) = (list(_conversation(tag, 2)) for tag in (1, 2, 3))
    for prompt in (a1, b1, c1, a2, c2):
        prefixes.switch(prompt)
        llama.call(prompt)
    # parking B pushed A out, so A's second turn reads all but the system prompt; C's was parked last
    assert prefixes.restores == 1 and llama.read == 400 + 300 + 300 + 600 + 300


def test_a_call_that_drops_a_few_tokens_parks_nothing_and_slots_0_never_park():
    llama = _Llama()
    prefixes = _Prefixes(llama, slots=4, min_tokens=256)
    prompt = list(range(1000))
    prefixes.switch(prompt)
    llama.call(prompt, reply=range(5000, 5100))  # a reply of 100 tokens the next prompt words otherwise
    prefixes.switch([*prompt, 7, 7, 7])
    assert prefixes.parks == 0
    off = _Prefixes(llama, slots=0)
    llama.call(prompt)
    off.switch(list(range(5000, 6000)))
    assert off.parks == 0 and off.parked == []


def test_common_prefix_on_lists_and_arrays():
    assert common_prefix([1, 2, 3], np.array([1, 2, 4])) == 2
    assert common_prefix([], [1]) == 0 and common_prefix([1, 2], [1, 2, 3]) == 2 and common_prefix([5], [6]) == 0
