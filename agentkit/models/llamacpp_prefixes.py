"""Parked KV prefixes: conversations that take turns on one in-process model each keep their prompt cache.

A llama.cpp context holds the KV of one sequence, the last call's. When K episodes share the model, each call's
prompt is another episode's continuation, so it shares almost nothing with the last call and the whole prompt
is read again: in ``benchmarks/scale_out.py`` the share of prompt tokens served from the cache fell from 79 %
at K = 1 to 25 % at K = 2, and episodes/s fell to 0.43x. A batching server avoids that with one slot per
episode; this does the same in-process. Before a call drops ``min_tokens`` or more of what the context holds,
that sequence's KV is copied out (``llama_state_seq_get_data``), and a call whose prompt shares more with a
parked prefix than with the live one gets that prefix copied back in (``llama_state_seq_set_data``), so it
evaluates only what is new. For 3,000 tokens of the 1.5B model here, parking copies 86 MB in 0.17 s and
restoring takes 0.013 s; reading those tokens afresh takes about 40 s.

At most ``slots`` prefixes are parked, the least recently used dropped first; each holds its tokens' KV
(about 28 KB a token for the 1.5B model, 12 KB for the 0.5B), so 4 slots of a 4,096-token context take at
most 470 MB.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ParkedPrefixes", "common_prefix"]

_logger = logging.getLogger("agentkit.models")


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """The length of the common prefix of two token sequences."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    differ = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    return int(differ[0]) if differ.size else n


@dataclass(slots=True)
class _Parked:
    tokens: np.ndarray
    state: Any  # the sequence's KV as llama.cpp wrote it (a ctypes byte array)
    size: int


class ParkedPrefixes:
    """Up to ``slots`` KV prefixes of a ``llama_cpp.Llama`` put aside; call ``switch`` (under the model's
    lock) before each call that evaluates a prompt."""

    def __init__(self, llama: Any, *, slots: int = 4, min_tokens: int = 256) -> None:
        self.llama, self.slots, self.min_tokens = llama, slots, min_tokens
        self.parked: list[_Parked] = []  # least recently used first
        self.parks = self.restores = 0

    def switch(self, tokens: Sequence[int]) -> None:
        """Make the context hold the longest prefix of ``tokens`` that the live sequence or a parked one
        has, parking the live sequence first if the call would drop ``min_tokens`` or more of it."""
        if self.slots < 1:
            return
        llama = self.llama
        held = llama.input_ids[: llama.n_tokens]
        live = common_prefix(held, tokens)
        shares = [common_prefix(p.tokens, tokens) for p in self.parked]
        best = max(range(len(shares)), key=shares.__getitem__, default=None)
        target = self.parked.pop(best) if best is not None and shares[best] > live else None
        if llama.n_tokens - live >= self.min_tokens:
            self._park(np.array(held))  # a copy: the context's token list changes next
        if target is not None:
            self._restore(target)

    def clear(self) -> None:
        self.parked.clear()

    def _park(self, tokens: np.ndarray) -> None:
        # a parked prefix the live sequence contains whole says nothing more
        self.parked = [p for p in self.parked if common_prefix(p.tokens, tokens) < len(p.tokens)]
        state, size = self._copy_out()
        if not size:
            _logger.warning("llama.cpp could not copy out a %d-token prefix; it will be read again", len(tokens))
            return
        self.parked.append(_Parked(tokens, state, size))
        self.parks += 1
        if len(self.parked) > self.slots:
            self.parked.pop(0)

    def _restore(self, parked: _Parked) -> None:
        llama = self.llama
        llama._ctx.kv_cache_seq_rm(0, 0, -1)
        llama.n_tokens = 0
        if not self._copy_in(parked):
            _logger.warning("llama.cpp could not restore a %d-token prefix; it will be read again",
                            len(parked.tokens))
            llama._ctx.kv_cache_seq_rm(0, 0, -1)
            return
        n = len(parked.tokens)
        llama.input_ids[:n] = parked.tokens
        llama.n_tokens = n
        llama._requires_eval = True  # the logits are not this prefix's: the next call evaluates a token first
        self.restores += 1

    def _copy_out(self) -> tuple[Any, int]:
        """The live sequence's KV as llama.cpp writes it, and its size (0: it could not)."""
        from llama_cpp import llama_cpp as lib

        size = lib.llama_state_seq_get_size(self.llama.ctx, 0)
        state = (ctypes.c_uint8 * size)()
        return state, lib.llama_state_seq_get_data(self.llama.ctx, state, size, 0)

    def _copy_in(self, parked: _Parked) -> bool:
        from llama_cpp import llama_cpp as lib

        return bool(lib.llama_state_seq_set_data(self.llama.ctx, parked.state, parked.size, 0))
