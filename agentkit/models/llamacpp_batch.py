"""Several samples of one prompt decoded together by llama.cpp: one forward pass per token for all of them.

``BatchDecoder`` owns a second llama.cpp context on the same weights, with room for several sequences in one
unified KV cache. The prompt is evaluated once, as sequence 0, and shared with sequences 1..n-1 (the cache
cells are tagged, not copied); then every step decodes one new token of every unfinished sample in a single
batch. On a CPU, decoding is bound by memory bandwidth (each token reads all the weights), so decoding n
tokens in one pass costs much less than n passes; ``benchmarks/model_overhead.py`` measures the gain.

The prompt stays in sequence 0 between calls, so a call whose prompt extends the previous one (the same
few-shot examples, the next step of a search) evaluates only the new tokens. With ``logprobs`` the top
alternatives of every generated token are returned, which is how an LLM judge reads P(Yes).

Seeds fix each sample's random draws, but batched samples are not bit-for-bit repeatable across calls: where a
sample's tokens land in the shared cache changes the order llama.cpp sums attention in, and at a high
temperature a last-bit difference can pick another token. Greedy decoding is unaffected in practice.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agentkit.errors import ContextOverflowError

__all__ = ["BatchDecoder", "Sample", "TreeBatch", "TreeNode", "tree_batches"]

_ROUND = 1024  # the context is sized up in steps of this many cells
_SEQS = 64  # sequences the context has room for at least (scoring a step's valid actions uses one each)


@dataclass(slots=True)
class Sample:
    """One sequence being decoded."""

    seq: int
    sampler: Any
    data: bytearray = field(default_factory=bytearray)
    tokens: int = 0
    finish: str | None = None
    logprobs: list[dict[str, float]] = field(default_factory=list)
    text: str | None = None  # set when a stop string ended the sample: the text before it

    @property
    def output(self) -> str:
        """The sample's text: up to its stop string, else all it decoded."""
        return self.text if self.text is not None else self.data.decode("utf-8", "replace")


class BatchDecoder:
    """Decode ``n`` samples of a prompt at once on ``llama`` 's weights (a ``llama_cpp.Llama``).

    Args:
        llama: the loaded model whose weights (not context) are shared.
        n_threads: CPU threads.
        n_batch: prompt tokens evaluated per forward pass.
        max_context: the model's context window (a sample's prompt + its tokens must fit it).
    """

    def __init__(self, llama: Any, *, n_threads: int, n_batch: int, max_context: int) -> None:
        self.llama = llama
        self.n_threads = n_threads
        self.n_batch = n_batch
        self.max_context = max_context
        self._ctx: Any = None
        self._batch: Any = None
        self._cells = 0
        self._seqs = 0
        self._prompt: list[int] = []  # tokens held by sequence 0
        self._pieces: dict[tuple[int, bool], bytes] = {}
        self._vocab: Any = None

    # -- context -----------------------------------------------------------------------------------------

    def _ensure(self, cells: int, seqs: int) -> None:
        import llama_cpp
        from llama_cpp import _internals

        if self._ctx is not None and cells <= self._cells and seqs <= self._seqs:
            return
        # sized for the whole window and many sequences at once: a rebuilt context loses the cached prompt
        # (the cache is unified, so sequences cost no memory of their own; cells cost ~28 kB each on 1.5B)
        cells = max(self._cells, self.max_context, -(-cells // _ROUND) * _ROUND)
        seqs = min(max(self._seqs, seqs, _SEQS), llama_cpp.llama_max_parallel_sequences())
        params = llama_cpp.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch = cells, self.n_batch, self.n_batch
        params.n_seq_max, params.kv_unified, params.no_perf = seqs, True, True
        params.n_threads = params.n_threads_batch = self.n_threads
        self.close()
        self._ctx = _internals.LlamaContext(model=self.llama._model, params=params, verbose=False)
        self._batch = _internals.LlamaBatch(n_tokens=max(self.n_batch, seqs), embd=0, n_seq_max=seqs, verbose=False)
        self._cells, self._seqs, self._prompt = cells, seqs, []

    def close(self) -> None:
        if self._ctx is not None:
            self._batch.close()
            self._ctx.close()
            self._ctx = self._batch = None

    @property
    def held(self) -> list[int]:
        """The prompt tokens sequence 0 holds (a call whose prompt starts with them evaluates only the rest)."""
        return self._prompt

    # -- decoding ----------------------------------------------------------------------------------------

    def generate(self, tokens: list[int], *, seeds: list[int | None], temperature: float, top_p: float,
                 max_tokens: int, stops: list[str], logprobs: int = 0) -> tuple[list[Sample], int]:
        """Decode ``len(seeds)`` samples of the prompt ``tokens``; returns them and the prompt tokens that
        were reused from the previous call."""
        n = len(seeds)
        room = self.max_context - len(tokens)
        if room < 1:
            raise ContextOverflowError(f"The prompt is {len(tokens)} tokens but the context window is "
                                       f"{self.max_context}. Shorten the prompt or load a larger window.")
        max_tokens = min(max_tokens, room)
        self._ensure(len(tokens) + n * max_tokens + 1, n)
        cached = self._load_prompt(tokens)
        samples = [Sample(i, self._sampler(temperature, top_p, seed)) for i, seed in enumerate(seeds)]
        try:
            self._decode(samples, len(tokens), max_tokens, stops, logprobs)
        finally:
            for s in samples:
                s.sampler.close()
            self._forget_samples(n, len(tokens))
        return samples, cached

    def score(self, prompt: list[int], continuations: list[list[int]]) -> tuple[list[float], int]:
        """The sum of log-probabilities of each continuation's tokens after ``prompt`` (and the prompt
        tokens reused from the previous call). The prompt is evaluated once, into sequence 0; then the
        continuations are decoded together as a prefix tree (``tree_batches``): each in its own sequence
        sharing the prompt's cells, and a token that several of them start with evaluated once for all of
        them, with logits at every token."""
        import llama_cpp

        if len(prompt) + max(map(len, continuations)) > self.max_context:
            raise ContextOverflowError(f"The prompt is {len(prompt)} tokens but the context window is "
                                       f"{self.max_context}. Shorten the prompt or load a larger window.")
        most = min(len(continuations), llama_cpp.llama_max_parallel_sequences() - 1)
        self._ensure(len(prompt) + min(sum(map(len, continuations)), self.n_batch) + 1, most + 1)
        cached = self._load_prompt(prompt)
        first = self._log_softmax(self._last)  # the next-token distribution after the prompt
        scores = [float(first[c[0]]) for c in continuations]
        batch = self._batch.batch
        for group in tree_batches(continuations, max_tokens=self.n_batch, max_seqs=self._seqs - 1):
            for seq in range(1, group.sequences + 1):
                llama_cpp.llama_memory_seq_cp(self._ctx.memory, 0, seq, -1, -1)
            for k, node in enumerate(group.nodes):
                batch.token[k], batch.pos[k], batch.n_seq_id[k] = node.token, len(prompt) + node.depth, len(node.seqs)
                for m, seq in enumerate(node.seqs):
                    batch.seq_id[k][m] = seq
                batch.logits[k] = True
            batch.n_tokens = len(group.nodes)
            self._ctx.decode(self._batch)
            rows = [self._log_softmax(k) for k in range(len(group.nodes))]
            for i, k, token in group.reads:
                scores[i] += float(rows[k][token])
            for seq in range(1, group.sequences + 1):
                llama_cpp.llama_memory_seq_rm(self._ctx.memory, seq, -1, -1)
        return scores, cached

    def _log_softmax(self, index: int) -> np.ndarray:
        """The log-probabilities of the next token at batch ``index``."""
        n_vocab = self.llama.n_vocab()
        pointer = self._ctx.get_logits_ith(index)
        logits = np.ctypeslib.as_array(ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(n_vocab,))
        shifted = logits.astype(np.float64) - logits.max()
        return shifted - np.log(np.exp(shifted).sum())

    def _load_prompt(self, tokens: list[int]) -> int:
        """Put ``tokens`` in sequence 0, evaluating only what differs from what it holds; the logits of the
        last token are at batch index ``self._last``."""
        import llama_cpp

        cached = 0
        for a, b in zip(self._prompt, tokens[:-1]):  # the last token is always evaluated, for its logits
            if a != b:
                break
            cached += 1
        llama_cpp.llama_memory_seq_rm(self._ctx.memory, -1, cached, -1)
        batch = self._batch.batch
        for start in range(cached, len(tokens), self.n_batch):
            chunk = tokens[start:start + self.n_batch]
            batch.n_tokens = len(chunk)
            for j, token in enumerate(chunk):
                batch.token[j], batch.pos[j], batch.n_seq_id[j] = token, start + j, 1
                batch.seq_id[j][0], batch.logits[j] = 0, False
            batch.logits[len(chunk) - 1] = True
            self._ctx.decode(self._batch)
            self._last = len(chunk) - 1
        self._prompt = list(tokens)
        return cached

    def _decode(self, samples: list[Sample], n_prompt: int, max_tokens: int, stops: list[str],
                logprobs: int) -> None:
        import llama_cpp

        for s in samples[1:]:
            llama_cpp.llama_memory_seq_cp(self._ctx.memory, 0, s.seq, -1, -1)
        vocab = self._vocab = self._vocab or llama_cpp.llama_model_get_vocab(self.llama._model.model)
        stop_bytes = [stop.encode("utf-8") for stop in stops if stop]
        where = {s.seq: self._last for s in samples}  # batch index of each sample's next-token logits
        batch = self._batch.batch
        for step in range(max_tokens):
            active = [s for s in samples if s.finish is None]
            if not active:
                return
            batch.n_tokens = 0
            for s in active:
                if logprobs:
                    s.logprobs.append(self._top(where[s.seq], logprobs))
                token = s.sampler.sample(self._ctx, where[s.seq])
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    s.finish = "stop"
                    continue
                s.tokens += 1
                piece = self.piece(token)
                s.data += piece
                if stop_bytes and self._stopped(s, stop_bytes, len(piece)):
                    continue
                if step + 1 == max_tokens:
                    s.finish = "length"
                    continue
                j = batch.n_tokens
                batch.token[j], batch.pos[j], batch.n_seq_id[j] = token, n_prompt + step, 1
                batch.seq_id[j][0], batch.logits[j] = s.seq, True
                where[s.seq] = j
                batch.n_tokens = j + 1
            if batch.n_tokens:
                self._ctx.decode(self._batch)
        for s in samples:
            s.finish = s.finish or "length"

    def _stopped(self, s: Sample, stops: list[bytes], added: int) -> bool:
        """Whether the ``added`` newest bytes complete a stop string; if so cut the text before it. Only the
        tail that could hold a new match is searched, so a step costs the same however long the sample is."""
        longest = max(map(len, stops))
        start = max(0, len(s.data) - added - longest + 1)
        hits = [i for stop in stops if (i := s.data.find(stop, start)) >= 0]
        if not hits:
            return False
        s.text, s.finish = s.data[: min(hits)].decode("utf-8", "replace"), "stop"
        return True

    def piece(self, token: int, special: bool = False) -> bytes:
        """The bytes a token stands for (cached)."""
        key = (token, special)
        if key not in self._pieces:
            import llama_cpp

            vocab = self._vocab = self._vocab or llama_cpp.llama_model_get_vocab(self.llama._model.model)
            buffer = ctypes.create_string_buffer(64)
            size = llama_cpp.llama_token_to_piece(vocab, token, buffer, 64, 0, special)
            if size < 0:  # a longer piece: ask again with room for it
                buffer = ctypes.create_string_buffer(-size)
                size = llama_cpp.llama_token_to_piece(vocab, token, buffer, -size, 0, special)
            self._pieces[key] = buffer.raw[:size]
        return self._pieces[key]

    def _top(self, index: int, k: int) -> dict[str, float]:
        """The ``k`` most likely next tokens at batch ``index``, as text → log-probability."""
        n_vocab = self.llama.n_vocab()
        pointer = self._ctx.get_logits_ith(index)
        logits = np.ctypeslib.as_array(ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(n_vocab,))
        logits = logits.astype(np.float64)
        shifted = logits - logits.max()
        logz = np.log(np.exp(shifted).sum())
        top = np.argpartition(-shifted, k)[:k]
        top = top[np.argsort(-shifted[top])]
        out: dict[str, float] = {}
        for token in top:
            piece = self.piece(int(token), special=True).decode("utf-8", "replace")
            out.setdefault(piece, float(shifted[token] - logz))
        return out

    def _forget_samples(self, n: int, n_prompt: int) -> None:
        import llama_cpp

        for seq in range(1, n):
            llama_cpp.llama_memory_seq_rm(self._ctx.memory, seq, -1, -1)
        llama_cpp.llama_memory_seq_rm(self._ctx.memory, 0, n_prompt, -1)

    @staticmethod
    def _sampler(temperature: float, top_p: float, seed: int | None) -> Any:
        import random

        from llama_cpp import _internals

        sampler = _internals.LlamaSampler()
        if temperature <= 0:
            sampler.add_greedy()
            return sampler
        if top_p < 1.0:
            sampler.add_top_p(top_p, 1)
        sampler.add_temp(temperature)
        sampler.add_dist(seed if seed is not None else random.randrange(2**31))
        return sampler


@dataclass(slots=True)
class TreeNode:
    """One token of a prefix tree of continuations: at ``depth`` after the prompt, in every sequence of the
    continuations that start with the path to it."""

    token: int
    depth: int
    seqs: list[int] = field(default_factory=list)


@dataclass(slots=True)
class TreeBatch:
    """One forward pass of ``tree_batches``: its tokens, how many sequences (1..n) they use, and the reads
    ``(continuation, node, token)``: that continuation's ``token`` is scored from the node's logits."""

    nodes: list[TreeNode]
    sequences: int
    reads: list[tuple[int, int, int]]


def tree_batches(continuations: list[list[int]], *, max_tokens: int, max_seqs: int) -> list[TreeBatch]:
    """Plan the scoring of ``continuations`` (token lists) after a prompt whose logits score their first
    tokens: each continuation gets a sequence, and the tokens that continuations start with in common are
    one node in all their sequences, so candidates like ``go to cabinet 1`` ... ``go to cabinet 18``
    evaluate ``go to cabinet`` once. A batch holds at most ``max_tokens`` nodes and ``max_seqs``
    sequences; a continuation longer than a batch is cut there.

    >>> [(n.token, n.depth, n.seqs) for n in tree_batches([[5, 6, 7], [5, 6, 8]], max_tokens=8, max_seqs=4)[0].nodes]
    [(5, 0, [1, 2]), (6, 1, [1, 2])]
    """
    pending = sorted((i for i, c in enumerate(continuations) if len(c) > 1), key=lambda i: continuations[i])
    batches: list[TreeBatch] = []
    while pending:
        index: dict[tuple[int, ...], int] = {}
        batch = TreeBatch([], 0, [])
        while pending and batch.sequences < max_seqs:
            tokens = continuations[pending[0]][:max_tokens]
            path = tokens[:-1]  # the last token's logits predict nothing scored
            new = sum(tuple(path[:d + 1]) not in index for d in range(len(path)))
            if batch.sequences and len(batch.nodes) + new > max_tokens:
                break
            i = pending.pop(0)
            batch.sequences += 1
            for d, token in enumerate(path):
                k = index.setdefault(tuple(path[:d + 1]), len(batch.nodes))
                if k == len(batch.nodes):
                    batch.nodes.append(TreeNode(token, d))
                batch.nodes[k].seqs.append(batch.sequences)
                batch.reads.append((i, k, tokens[d + 1]))
        batches.append(batch)
    return batches
