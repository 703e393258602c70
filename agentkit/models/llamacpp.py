"""llama.cpp in this process, on the CPU: the zero-config default backend.

Specs: ``qwen-1.5b``, ``qwen-0.5b``, ``llamacpp:PATH.gguf``; options such as ``?n_ctx=8192&n_threads=2``.

Several samples of one prompt (``n > 1``) are decoded together, one forward pass per token for all of them
(``agentkit.models.llamacpp_batch``); ``?batch=false`` decodes them one after another instead.

Why it is fast for agents: the prompt is rendered with the model's own chat template and tokenized here, and
llama.cpp keeps the KV cache of the previous call, so a call whose prompt extends the previous one (the next
ReAct step, the next turn of a chat, the next of ``n`` samples) evaluates only the new tokens. The number of
reused tokens is reported as ``Usage.cached_tokens``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

from agentkit.errors import ContextOverflowError, ModelFileError
from agentkit.models.base import Choice, Completion, Delta, GenerateRequest, Model, ScoreRequest, Scores
from agentkit.models.bundled import DEFAULT_BUNDLED, resolve_gguf
from agentkit.models.llamacpp_prefixes import ParkedPrefixes, common_prefix
from agentkit.models.usage import Usage
from agentkit.optional import require
from agentkit.types import Message

__all__ = ["ContextOverflowError", "LlamaCppModel"]

_DONE = object()
_GRAMMARS_KEPT = 32  # compiled grammars cached per model, the most recently used


class LlamaCppModel(Model):
    """A GGUF model run by llama.cpp in-process.

    Args:
        path: a bundled model's short name (``qwen-1.5b``, ``qwen-0.5b``) or a GGUF file path.
        n_ctx: context window in tokens.
        n_threads: CPU threads for generation (default: all cores).
        n_batch: prompt tokens evaluated per batch.
        prefix_cache: reuse the KV cache for the prompt prefix shared with the previous call.
        prefix_slots: prompt prefixes kept aside for conversations that take turns on this model (concurrent
            episodes, several chats): each call continues the one it shares most with, so none reads its
            whole prompt again (``agentkit.models.llamacpp_prefixes``). ``0`` keeps only the last call's.
        batch: decode the ``n`` samples of a call together (and answer ``logprobs`` requests) on a second
            context with room for several sequences; ``False`` samples them one after another.
        batch_size: samples decoded together at most; more are decoded in groups of this many, the prompt
            shared by all. On 2 CPU cores a pass over 4 sequences still costs little more than over one, but
            8 make it compute-bound (measured in ``benchmarks/model_overhead.py``), hence 4.
        llama: an already-built ``llama_cpp.Llama`` to use instead of loading ``path``.
        repack: let llama.cpp repack the weights for the CPU's special matrix units (its "extra buffer
            types"). ``None`` (the default) turns it off where the build would use Intel AMX: llama.cpp's
            AMX kernels crash on Q4_K weights on Sapphire Rapids-class CPUs (ggml-org/llama.cpp#20824),
            which is what this project's machines have.
        verbose: let llama.cpp print its logs.

    Example:
        >>> model = LlamaCppModel("qwen-0.5b", n_ctx=2048)  # doctest: +SKIP
        >>> model.generate_sync("Capital of France? One word.", max_tokens=4).text  # doctest: +SKIP
        'Paris'
    """

    backend = "llamacpp"

    def __init__(self, path: str = DEFAULT_BUNDLED, *, n_ctx: int = 4096, n_threads: int | None = None,
                 n_batch: int = 512, prefix_cache: bool = True, prefix_slots: int = 4, batch: bool = True,
                 batch_size: int = 4, llama: Any = None, repack: bool | None = None, verbose: bool = False,
                 name: str | None = None) -> None:
        super().__init__(name=name or Path(path).name)
        self.path = path
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        self.n_batch = n_batch
        self.prefix_cache = prefix_cache
        self.prefix_slots = prefix_slots
        self._parked: Any = None
        self.batch = batch
        self.batch_size = max(1, batch_size)
        self._decoder: Any = None
        self.verbose = verbose
        self.model_file: Path | None = None
        self._llama = llama
        self.repack = repack
        self._formatter: Any = None
        self._grammars: OrderedDict[str, Any] = OrderedDict()
        # llama.cpp contexts are not thread-safe: every call runs under this lock in a worker thread.
        self._lock = threading.Lock()

    @property
    def llama(self) -> Any:
        """The underlying ``llama_cpp.Llama`` (loaded on first use)."""
        self._setup_once()
        return self._llama

    def setup(self) -> None:
        llama_cpp = require("llama_cpp", what="The llamacpp backend", needs="llama-cpp-python", extra="agentkit[local]",
                            hint="(it builds llama.cpp from source, ~5 minutes).")
        if self._llama is None:
            self.model_file = resolve_gguf(self.path)
            repack = self.repack if self.repack is not None else not uses_amx()
            try:
                with llama_model_params(use_extra_bufts=repack):
                    self._llama = llama_cpp.Llama(
                        model_path=str(self.model_file), n_ctx=self.n_ctx, n_threads=self.n_threads,
                        n_threads_batch=self.n_threads, n_batch=self.n_batch, verbose=self.verbose,
                    )
            except ValueError as e:
                size = self.model_file.stat().st_size
                raise ModelFileError(
                    f"llama.cpp could not load {self.model_file} ({size:,} bytes): {e}. The file is probably "
                    "truncated or corrupt: download it again, or use a bundled model (--model qwen-1.5b)."
                ) from None
        self._formatter = _chat_formatter(self._llama)

    # -- prompt ------------------------------------------------------------------------------------------

    def tokenize_chat(self, request: GenerateRequest) -> tuple[list[int], list[str]]:
        """The prompt tokens for a chat, and the template's stop strings. A last assistant message is
        continued: the template's reply prompt is followed by its text."""
        text, bos, stops = self._render(request.messages)
        return self._llama.tokenize(text, add_bos=bos, special=True), [*stops, *request.stop]

    def _render(self, chat: Sequence[Message]) -> tuple[bytes, bool, list[str]]:
        """The chat as the template writes it, whether a BOS token goes first, and the template's stops."""
        messages = list(chat)
        prefill = messages.pop()["content"] if len(messages) > 1 and messages[-1]["role"] == "assistant" else ""
        rendered = self._formatter(messages=messages)
        stops = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop] if rendered.stop else []
        return (rendered.prompt + prefill).encode("utf-8"), not rendered.added_special, stops

    def _prepare(self, tokens: list[int], max_tokens: int) -> tuple[int, int]:
        """Check the context fits; return (max_tokens that fit, prompt tokens reused from the KV cache)."""
        room = self.n_ctx - len(tokens)
        if room < 1:
            raise ContextOverflowError(
                f"The prompt is {len(tokens)} tokens but the context window is {self.n_ctx}. Shorten the "
                f"prompt or load the model with a larger window (e.g. --model '{self.path}?n_ctx={2 * self.n_ctx}')."
            )
        if not self.prefix_cache:
            self._llama.reset()
            return min(max_tokens, room), 0
        if self._parked is None or self._parked.llama is not self._llama:
            self._parked = ParkedPrefixes(self._llama, slots=self.prefix_slots)
        self._parked.switch(tokens)
        # llama.cpp re-evaluates at least the last prompt token, so at most len - 1 are reused.
        return min(max_tokens, room), common_prefix(self._llama.input_ids[: self._llama.n_tokens], tokens[:-1])

    def _grammar(self, schema: dict[str, Any] | None) -> Any:
        if schema is None:
            return None
        key = json.dumps(schema, sort_keys=True)
        if key in self._grammars:
            self._grammars.move_to_end(key)
        else:
            from llama_cpp import LlamaGrammar

            self._grammars[key] = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
            if len(self._grammars) > _GRAMMARS_KEPT:  # acting agents make a new schema every step
                self._grammars.popitem(last=False)
        return self._grammars[key]

    def _options(self, request: GenerateRequest, max_tokens: int, stops: list[str], seed: int | None) -> dict[str, Any]:
        return {
            "max_tokens": max_tokens, "temperature": request.temperature, "top_p": request.top_p,
            "stop": stops, "seed": seed, "grammar": self._grammar(request.schema),
            # llama-cpp-python's own defaults add min_p/top_k/repeat penalties; keep sampling as asked.
            "min_p": 0.0, "top_k": 0, "repeat_penalty": 1.0,
        }

    # -- generate ----------------------------------------------------------------------------------------

    async def _generate(self, request: GenerateRequest) -> Completion:
        return await asyncio.to_thread(self._generate_blocking, request)

    def _generate_blocking(self, request: GenerateRequest) -> Completion:
        if request.schema is None and (request.logprobs or (request.n > 1 and self.batch)
                                       or self._decoder_holds_more(request)):
            return self._generate_batched(request)
        with self._lock:
            tokens, stops = self.tokenize_chat(request)
            choices, usage = [], Usage()
            # n > 1 is repeated sampling with distinct seeds; samples after the first reuse the prompt's KV.
            for i, seed in enumerate(request.sample_seeds()):
                max_tokens, cached = self._prepare(tokens, request.max_tokens)
                out = self._llama.create_completion(tokens, **self._options(request, max_tokens, stops, seed))
                choice = out["choices"][0]
                choices.append(Choice(choice["text"], "length" if choice["finish_reason"] == "length" else "stop", i))
                usage = usage + Usage(calls=1, prompt_tokens=len(tokens),
                                      completion_tokens=out["usage"]["completion_tokens"], cached_tokens=cached)
        return Completion(tuple(choices), usage, self.name)

    def _decoder_holds_more(self, request: GenerateRequest) -> bool:
        """Whether the batch decoder's cache holds more of this prompt than the main context's (an agent
        that scores its actions there generates its next thought there too, so the prompt is read once)."""
        if self._decoder is None or not self.prefix_cache:
            return False
        with self._lock:
            tokens, _ = self.tokenize_chat(request)
            main = common_prefix(self._llama.input_ids[: self._llama.n_tokens], tokens)
            return common_prefix(self._decoder.held, tokens) > main

    def _generate_batched(self, request: GenerateRequest) -> Completion:
        with self._lock:
            tokens, stops = self.tokenize_chat(request)
            self._batch_decoder()
            seeds, samples, cached = request.sample_seeds(), [], 0
            for start in range(0, len(seeds), self.batch_size):  # later groups find the prompt cached
                group, reused = self._decoder.generate(
                    tokens, seeds=seeds[start:start + self.batch_size], temperature=request.temperature,
                    top_p=request.top_p, max_tokens=request.max_tokens, stops=stops, logprobs=request.logprobs)
                samples += group
                cached = reused if start == 0 else cached
        choices = tuple(Choice(s.output, "length" if s.finish == "length" else "stop", i,
                               tuple(s.logprobs) if request.logprobs else None) for i, s in enumerate(samples))
        usage = Usage(calls=1, prompt_tokens=len(tokens), completion_tokens=sum(s.tokens for s in samples),
                      cached_tokens=cached)
        return Completion(choices, usage, self.name)

    can_score = True

    async def _score(self, request: ScoreRequest) -> Scores:
        return await asyncio.to_thread(self._score_blocking, request)

    def _score_blocking(self, request: ScoreRequest) -> Scores:
        with self._lock:
            text, bos, _ = self._render(request.messages)
            chat = self._llama.tokenize(text, add_bos=bos, special=True)
            # each continuation is tokenized with the chat, as the model would read it (a word may merge
            # with the chat's last characters); the tokens all of them share are the prompt
            joint = [self._llama.tokenize(text + c.encode("utf-8"), add_bos=bos, special=True) for c in
                     request.continuations]
            shared = min(common_prefix(chat, j) for j in joint)
            shared = max(1, min(shared, *(len(j) - 1 for j in joint)))
            prompt = chat[:shared]
            decoder = self._batch_decoder()
            logprobs, cached = decoder.score(prompt, [j[shared:] for j in joint])
        tokens = tuple(len(j) - shared for j in joint)
        return Scores(tuple(logprobs), tokens, Usage(calls=1, prompt_tokens=len(prompt), scored_tokens=sum(tokens),
                                                      cached_tokens=cached))

    def _batch_decoder(self) -> Any:
        from agentkit.models.llamacpp_batch import BatchDecoder

        if self._decoder is None:
            self._decoder = BatchDecoder(self._llama, n_threads=self.n_threads, n_batch=self.n_batch,
                                         max_context=self.n_ctx)
        return self._decoder

    async def aclose(self) -> None:
        if self._parked is not None:
            self._parked.clear()
        if self._decoder is not None:
            with self._lock:
                self._decoder.close()
                self._decoder = None

    # -- stream ------------------------------------------------------------------------------------------

    async def _stream(self, request: GenerateRequest) -> AsyncIterator[Delta]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def produce() -> None:
            try:
                for delta in self._stream_blocking(request, stop):
                    loop.call_soon_threadsafe(queue.put_nowait, delta)
            except BaseException as e:  # handed to the consumer, raised there
                loop.call_soon_threadsafe(queue.put_nowait, e)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        worker = loop.run_in_executor(None, produce)
        try:
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()  # a consumer that stops early ends generation at the next token
            await worker

    def _stream_blocking(self, request: GenerateRequest, stop: threading.Event) -> Iterator[Delta]:
        with self._lock:
            tokens, stops = self.tokenize_chat(request)
            max_tokens, cached = self._prepare(tokens, request.max_tokens)
            pieces, finish = 0, "stop"
            chunks = self._llama.create_completion(
                tokens, stream=True, **self._options(request, max_tokens, stops, request.seed)
            )
            for chunk in chunks:
                if stop.is_set():
                    chunks.close()
                    break
                choice = chunk["choices"][0]
                if choice.get("finish_reason") == "length":
                    finish = "length"
                if choice["text"]:
                    pieces += 1
                    yield Delta(choice["text"])
            yield Delta("", finish, Usage(calls=1, prompt_tokens=len(tokens), completion_tokens=pieces,
                                          cached_tokens=cached))


def uses_amx() -> bool:
    """Whether this llama.cpp build would run matrix products on Intel AMX here (it reports the CPU
    features it compiled for and found)."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    return "AMX_INT8 = 1" in info


_params_lock = threading.Lock()


@contextlib.contextmanager
def llama_model_params(**fields: Any) -> Iterator[None]:
    """Build the next ``llama_cpp.Llama`` with these model parameters set. Its constructor takes no
    ``use_extra_bufts``, so the defaults it starts from are patched while it runs (under a lock)."""
    import llama_cpp.llama as high_level

    low_level = high_level.llama_cpp
    with _params_lock:
        original = low_level.llama_model_default_params

        def defaults() -> Any:
            params = original()
            for name, value in fields.items():
                setattr(params, name, value)
            return params

        low_level.llama_model_default_params = defaults
        try:
            yield
        finally:
            low_level.llama_model_default_params = original


def _chat_formatter(llama: Any) -> Any:
    """The model's own chat template (from the GGUF metadata), or ChatML when it has none."""
    from llama_cpp import llama_chat_format

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        return llama_chat_format.format_chatml
    eos, bos = llama.token_eos(), llama.token_bos()
    return llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=llama.detokenize([eos], special=True).decode("utf-8", "replace") if eos >= 0 else "",
        bos_token=llama.detokenize([bos], special=True).decode("utf-8", "replace") if bos >= 0 else "",
        stop_token_ids=[eos],
    )
