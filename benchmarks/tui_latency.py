"""How responsive the terminal UI stays while a model streams, measured headless.

The scripted model streams 2,000 tokens of Markdown at 25 tokens/s (80 s) into the chat while this script
types into the composer every 100-300 ms (at random). It reports:

  stall       the longest event-loop stall (a 5 ms ticker's worst lateness) while streaming
  key         key-press-to-screen latency, p50 and p95: from the key event entering the app to the first
              screen update made once the composer holds the character
  last token  from the model yielding the last token to the first screen update after the answer widget
              drew it
  frames/s    screen updates per second while streaming (panel updates are batched at 5 frames/s; the
              Markdown stream and the typing add their own)
  open 10k    opening a run folder whose episodes.jsonl has 10,000 lines, until the table holds them all and
              the screen is updated

"Screen update" is Textual's compositor handing a frame to the driver (``App._display``); the headless
driver then writes nothing, so writing to a real terminal is not in these figures.

Goals (the terminal UI issue): no stall over 100 ms, p95 key latency under 50 ms, the last token shown within
300 ms.

Usage:
    python benchmarks/tui_latency.py                 # the full 80 s stream
    python benchmarks/tui_latency.py --tokens 500    # a shorter run
    python benchmarks/tui_latency.py --text README.md   # real Markdown the settings were not chosen on
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from textual import events

from agentkit.models.base import Delta, GenerateRequest
from agentkit.models.testing import ScriptedModel
from agentkit.tui.app import AgentkitApp
from agentkit.tui.screens.runs import RunsScreen
from agentkit.tui.widgets.composer import Composer
from agentkit.tui.widgets.turn import AnswerTurn

SIZE = (120, 40)


def markdown(tokens: int) -> str:
    """Markdown of ``tokens`` whitespace-separated words: paragraphs, lists, code fences and a table."""
    words: list[str] = []
    i = 0
    while len(words) < tokens:
        part = i % 4
        if part == 0:
            words += [f"word{i}-{j}" for j in range(40)] + ["\n\n"]
        elif part == 1:
            for j in range(5):
                words += ["\n-", f"item{i}-{j}", "with", f"**bold{j}**", "and", f"`code{j}`"]
            words.append("\n\n")
        elif part == 2:
            words += ["```python\n"] + [f"x{j} = {j} * {i}\n" for j in range(8)] + ["```\n\n"]
        else:
            words += ["| a | b |\n|---|---|\n"] + [f"| {i} | {j} |\n" for j in range(5)] + ["\n"]
        i += 1
    text = " ".join(w.strip(" ") if w.endswith("\n") else w for w in words)
    pieces = re.findall(r"\s*\S+", text)[: tokens - 1]  # a token as the scripted model streams one
    return "".join(pieces) + " THE-LAST-TOKEN"


class TimedModel(ScriptedModel):
    """The scripted model, noting when it yields its last token."""

    last_yield: float | None = None

    async def _stream(self, request: GenerateRequest) -> AsyncIterator[Delta]:
        async for delta in super()._stream(request):
            if delta.text:
                self.last_yield = time.perf_counter()
            yield delta


def from_file(path: str, tokens: int) -> str:
    """The first ``tokens`` tokens of a Markdown file (text the UI was not tuned on), then the marker."""
    pieces = re.findall(r"\s*\S+", Path(path).read_text(encoding="utf-8"))[: tokens - 1]
    return "".join(pieces) + " THE-LAST-TOKEN"


async def measure(tokens: int, rate: float, source: str | None = None) -> dict[str, Any]:
    text = markdown(tokens) if source is None else from_file(source, tokens)
    model = TimedModel(default=text, rate=rate)
    app = AgentkitApp(model=model, history=":memory:", keymap="/nonexistent/tui.toml", max_tokens=tokens + 10)
    frames: list[float] = []
    typed: list[tuple[float, int]] = []  # each frame: when, and how many characters the composer held
    async with app.run_test(size=SIZE) as pilot:
        display = app._display
        composer = app.screen.query_one(Composer)

        def timed_display(screen: Any, renderable: Any) -> None:
            if renderable is not None:
                frames.append(time.perf_counter())
                typed.append((frames[-1], len(composer.text)))
            display(screen, renderable)

        app._display = timed_display  # type: ignore[method-assign]
        drawn: list[float] = []  # when the answer widget was given the last token
        write = AnswerTurn.write

        async def timed_write(turn: AnswerTurn, piece: str) -> None:
            await write(turn, piece)
            if turn.live_text.endswith("THE-LAST-TOKEN") and not drawn:
                drawn.append(time.perf_counter())

        AnswerTurn.write = timed_write  # type: ignore[method-assign]
        composer.text = "Write a long document."
        await pilot.press("enter")
        stalls: list[float] = []
        streaming = True

        async def ticker() -> None:
            while streaming:
                started = time.perf_counter()
                await asyncio.sleep(0.005)
                stalls.append(time.perf_counter() - started - 0.005)

        tick = asyncio.create_task(ticker())
        keys: list[float] = []
        rng = random.Random(0)
        stream_started = time.perf_counter()
        while model.last_yield is None or not app.screen.query(AnswerTurn) or \
                app.screen.query(AnswerTurn).last().status == "streaming":
            await asyncio.sleep(rng.uniform(0.1, 0.3))  # at random moments, not in step with the UI's timers
            if model.last_yield is not None and time.perf_counter() - model.last_yield > 5:
                break
            before = len(composer.text)
            pressed = time.perf_counter()
            app._driver.send_message(events.Key("x", "x"))  # type: ignore[union-attr]
            while not typed or typed[-1][1] <= before:  # until a frame holds the character
                await asyncio.sleep(0.0005)
            keys.append(next(t for t, n in typed if n > before and t >= pressed) - pressed)
        stream_ended = time.perf_counter()
        streaming = False
        await tick
        answer = app.screen.query(AnswerTurn).last()
        assert model.last_yield is not None
        AnswerTurn.write = write  # type: ignore[method-assign]
        assert drawn, f"the last token never reached the answer widget: {app.screen.query(AnswerTurn).last().live_text[-60:]!r}"
        last_lag = next(f for f in frames if f >= drawn[0]) - model.last_yield
        during = [f for f in frames if stream_started <= f <= stream_ended]
        fps = len(during) / (stream_ended - stream_started)
        open_10k = await _open_run(app, pilot, frames)
    keys.sort()
    return {"tokens": tokens, "rate": rate, "stream_seconds": round(stream_ended - stream_started, 1),
            "stall_max_ms": round(1000 * max(stalls), 1), "stall_p99_ms": round(1000 * _pct(sorted(stalls), 99), 1),
            "key_p50_ms": round(1000 * _pct(keys, 50), 1), "key_p95_ms": round(1000 * _pct(keys, 95), 1),
            "keys": len(keys), "last_token_ms": round(1000 * last_lag, 1), "frames_per_s": round(fps, 1),
            "open_10k_s": round(open_10k, 3), "answer_ok": answer.status == "done"}


async def _open_run(app: Any, pilot: Any, frames: list[float]) -> float:
    folder = Path(tempfile.mkdtemp()) / "run"
    folder.mkdir()
    steps = [{"thought": "look", "action": "open door", "observation": "A room with a table.", "valid": True}] * 8
    lines = [json.dumps({"task_id": f"game-{i}", "task": "find the coin", "opening": "A hall.", "won": i % 3 == 0,
                         "reward": 1.0, "steps": 8, "seconds": 12.5, "trajectory": steps}) for i in range(10_000)]
    (folder / "episodes.jsonl").write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    screen = RunsScreen(folder)
    await app.push_screen(screen)
    table = screen.query_one("#episodes")
    while table.row_count < 10_000:
        await asyncio.sleep(0.001)
    loaded = time.perf_counter()
    while not frames or frames[-1] < loaded:
        await asyncio.sleep(0.001)
    return next(f for f in frames if f >= loaded) - started


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=2000, help="tokens streamed (default 2000)")
    parser.add_argument("--rate", type=float, default=25.0, help="tokens per second (default 25)")
    parser.add_argument("--text", help="stream this Markdown file instead of the generated document (e.g. README.md)")
    args = parser.parse_args()
    result = asyncio.run(measure(args.tokens, args.rate, args.text))
    goals = {"stall_max_ms": 100, "key_p95_ms": 50, "last_token_ms": 300}
    print(f"streamed {result['tokens']} tokens at {result['rate']:g}/s in {result['stream_seconds']} s, "
          f"{result['keys']} key presses while streaming")
    for name, value in result.items():
        goal = goals.get(name)
        mark = "" if goal is None else ("  (goal < %g: %s)" % (goal, "met" if value < goal else "NOT met"))
        print(f"  {name:16s} {value}{mark}")
    print(f"  p50/p95 key latency {result['key_p50_ms']}/{result['key_p95_ms']} ms; event-loop stall at most "
          f"{result['stall_max_ms']} ms; last token shown {result['last_token_ms']} ms after it was generated")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
