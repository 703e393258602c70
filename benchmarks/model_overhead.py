"""What agentkit's llamacpp backend costs over raw llama_cpp, and what prefix KV reuse saves.

Prints, from one run on one loaded model:
  1. prompt and generation tokens/s through agentkit vs raw ``llama_cpp.Llama.create_completion`` on the same
     token sequences (goal: agentkit ≥ 95 % of raw);
  2. time to first token, streamed, both ways;
  3. a 20-turn growing conversation with and without prefix KV reuse;
  4. n = 1, 4 and 8 samples of 256 tokens of one prompt, decoded together in one batch vs one after another
     (goal: batched ≥ 1.25x faster for n = 4 and 8).

Usage:
    python benchmarks/model_overhead.py                      # the default embedded model (qwen-1.5b)
    python benchmarks/model_overhead.py --model qwen-0.5b --repeats 5
    python benchmarks/model_overhead.py --only batched       # just section 4
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from agentkit.models.base import GenerateRequest, _make_request
from agentkit.models.llamacpp import LlamaCppModel
from agentkit.models.usage import track_usage

LONG_PROMPT = (
    "You are reviewing a logistics report. " + " ".join(
        f"Warehouse {i} shipped {i * 37 % 101} crates of apples and {i * 53 % 97} crates of pears on day {i % 7 + 1}."
        for i in range(1, 41)
    ) + " Which warehouse shipped the most apples?"
)
GEN_PROMPT = "Write the numbers from 1 to 300 in words, separated by commas."


def _median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _raw(model: LlamaCppModel, request: GenerateRequest) -> dict[str, Any]:
    """The same call made directly on llama_cpp: same tokens, same sampling options, no agentkit layers."""
    tokens, stops = model.tokenize_chat(request)
    model.llama.reset()
    return model.llama.create_completion(tokens, **model._options(request, request.max_tokens, stops, None))


def _raw_ttft(model: LlamaCppModel, request: GenerateRequest) -> float:
    tokens, stops = model.tokenize_chat(request)
    model.llama.reset()
    started = time.perf_counter()
    stream = model.llama.create_completion(tokens, stream=True, **model._options(request, 8, stops, None))
    next(iter(stream))
    elapsed = time.perf_counter() - started
    stream.close()
    return elapsed


def _agentkit_ttft(model: LlamaCppModel, prompt: str) -> float:
    async def first() -> float:
        started = time.perf_counter()
        async for _ in model.stream(prompt, max_tokens=8):
            return time.perf_counter() - started
        return float("nan")

    return asyncio.run(first())


def _conversation(model: LlamaCppModel, turns: int) -> tuple[float, int, int]:
    chat: list[dict[str, str]] = [{"role": "system", "content": "You are a terse assistant. Answer in a few words."}]
    with track_usage() as meter:
        started = time.perf_counter()
        for turn in range(turns):
            chat.append({"role": "user", "content": f"Turn {turn + 1}: name an animal that starts with the letter "
                                                    f"{chr(ord('a') + turn)}."})
            reply = model.generate_sync(chat, max_tokens=12)
            chat.append({"role": "assistant", "content": reply.text})
        seconds = time.perf_counter() - started
    usage = meter.usage
    return seconds, usage.prompt_tokens - usage.cached_tokens, usage.prompt_tokens


def _batched(console: Console, model: LlamaCppModel, tokens: int, repeats: int) -> None:
    """Section 4: the same n samples (same seeds) decoded in one batch and one after another."""
    table = Table(title=f"n samples of {tokens} tokens, batched (at most {model.batch_size} sequences a pass) vs "
                        "sequential (temperature 0.7, same seeds)")
    for column in ("n", "sequential s", "batched s", "sequential tok/s", "batched tok/s", "batched speed-up"):
        table.add_column(column, justify="right")
    for n in (1, 4, 8):
        times: dict[bool, list[float]] = {True: [], False: []}
        made: dict[bool, int] = {}
        for rep in range(repeats):
            for batch in (False, True):  # interleaved, so drift in machine speed hits both alike
                model.batch = batch
                model.llama.reset()
                started = time.perf_counter()
                out = model.generate_sync(GEN_PROMPT, n=n, temperature=0.7, max_tokens=tokens, seed=rep)
                times[batch].append(time.perf_counter() - started)
                made[batch] = out.usage.completion_tokens
        seq, bat = statistics.median(times[False]), statistics.median(times[True])
        table.add_row(str(n), f"{seq:.1f}", f"{bat:.1f}", f"{made[False] / seq:.1f}", f"{made[True] / bat:.1f}",
                      f"{(made[True] / bat) / (made[False] / seq):.2f}x")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen-1.5b", help="bundled name or GGUF path (default: qwen-1.5b)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions per measure (median)")
    parser.add_argument("--gen-tokens", type=int, default=128, help="tokens generated per generation run")
    parser.add_argument("--turns", type=int, default=20, help="turns of the growing conversation")
    parser.add_argument("--sample-tokens", type=int, default=256, help="tokens per sample in section 4")
    parser.add_argument("--only", choices=["overhead", "batched"], help="run one part: sections 1-3 or 4")
    args = parser.parse_args()
    console = Console()

    model = LlamaCppModel(args.model, n_ctx=4096, prefix_cache=False)
    with console.status(f"Loading {args.model}…"):
        asyncio.run(model.load())
    console.print(f"model {model.model_file} · {model.n_threads} threads · median of {args.repeats} runs")
    if args.only != "overhead":
        _batched(console, model, args.sample_tokens, args.repeats)
    if args.only == "batched":
        return

    prompt_req = _make_request(LONG_PROMPT, 1, 0.0, 1.0, 1, None, None, None)
    gen_req = _make_request(GEN_PROMPT, 1, 0.0, 1.0, args.gen_tokens, None, None, None)
    prompt_tokens = len(model.tokenize_chat(prompt_req)[0])

    # Warm up both paths once (first calls allocate buffers).
    _raw(model, gen_req)
    model.generate_sync(GEN_PROMPT, max_tokens=args.gen_tokens)

    raw_prompt_s, _ = _median_time(lambda: _raw(model, prompt_req), args.repeats)
    ak_prompt_s, _ = _median_time(lambda: model.generate_sync(LONG_PROMPT, max_tokens=1), args.repeats)
    raw_gen_s, raw_out = _median_time(lambda: _raw(model, gen_req), args.repeats)
    ak_gen_s, ak_out = _median_time(lambda: model.generate_sync(GEN_PROMPT, max_tokens=args.gen_tokens),
                                    args.repeats)
    if raw_out["choices"][0]["text"] != ak_out.text:
        console.print("[red]warning: raw and agentkit outputs differ; the comparison is not like for like[/]")
    gen_tokens = ak_out.usage.completion_tokens

    table = Table(title="agentkit llamacpp backend vs raw llama_cpp (same tokens, greedy)")
    for column in ("measure", "raw llama_cpp", "agentkit", "agentkit / raw"):
        table.add_column(column, justify="right")
    raw_p, ak_p = prompt_tokens / raw_prompt_s, prompt_tokens / ak_prompt_s
    table.add_row(f"prompt tokens/s ({prompt_tokens} tokens)", f"{raw_p:.1f}", f"{ak_p:.1f}", f"{ak_p / raw_p:.1%}")
    raw_g, ak_g = gen_tokens / raw_gen_s, gen_tokens / ak_gen_s
    table.add_row(f"generation tokens/s ({gen_tokens} tokens, incl. prompt)", f"{raw_g:.1f}", f"{ak_g:.1f}",
                  f"{ak_g / raw_g:.1%}")
    raw_ttft = statistics.median(_raw_ttft(model, prompt_req) for _ in range(args.repeats))
    ak_ttft = statistics.median(_agentkit_ttft(model, LONG_PROMPT) for _ in range(args.repeats))
    table.add_row(f"time to first token, s ({prompt_tokens}-token prompt)", f"{raw_ttft:.3f}", f"{ak_ttft:.3f}",
                  f"{raw_ttft / ak_ttft:.1%} (speed)")
    console.print(table)

    conv = Table(title=f"{args.turns}-turn growing conversation (12 tokens per reply)")
    for column in ("prefix KV reuse", "seconds", "prompt tokens evaluated", "prompt tokens sent"):
        conv.add_column(column, justify="right")
    results = {}
    for reuse in (False, True):
        model.prefix_cache = reuse
        model.llama.reset()
        results[reuse] = _conversation(model, args.turns)
        seconds, evaluated, sent = results[reuse]
        conv.add_row("on" if reuse else "off", f"{seconds:.1f}", str(evaluated), str(sent))
    console.print(conv)
    console.print(f"prefix reuse: {results[False][0] / results[True][0]:.2f}x faster, evaluates "
                  f"{results[True][1] / results[False][1]:.1%} of the prompt tokens")


if __name__ == "__main__":
    main()
