"""``agentkit serve`` for real: llama.cpp's batching server (xllamacpp) on 127.0.0.1 with the tiny model."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from agentkit.models.registry import load_model

pytestmark = [pytest.mark.server, pytest.mark.llm, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "agentkit.cli", "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _spec(process: subprocess.Popen, seconds: float = 180) -> str:
    deadline = time.monotonic() + seconds
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        match = re.search(r"model spec: (\S+)", line)
        if match:
            return match.group(1)
    pytest.fail(f"no spec printed: {''.join(seen)[-2000:]}")


def test_serve_runs_n_slots_answers_concurrent_requests_and_stops_on_ctrl_c(tiny_path, require):
    require("xllamacpp")
    port = _free_port()
    process = _serve("qwen-0.5b", "--parallel", "2", "--port", str(port), "--threads", "2", "--ctx", "2048")
    try:
        spec = _spec(process)
        assert spec == f"openai:http://127.0.0.1:{port}/v1#qwen-0.5b"
        slots = urllib.request.urlopen(f"http://127.0.0.1:{port}/slots", timeout=10).read().decode()
        assert slots.count('"id"') == 2 and '"n_ctx":2048' in slots.replace(" ", "")
        model = load_model(spec)

        async def both():
            try:
                return await asyncio.gather(*(model.generate(f"Say {n}.", max_tokens=8) for n in (1, 2)))
            finally:
                await model.aclose()
        answers = asyncio.run(both())
        assert all(a.text and a.usage.completion_tokens > 0 for a in answers)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
        with socket.socket() as s:  # the port is free again (for a server, which reuses the address)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
    finally:
        if process.poll() is None:
            process.kill()


def test_serve_on_a_port_in_use_says_so_and_starts_nothing(tiny_path, require):
    require("xllamacpp")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = _serve("qwen-0.5b", "--port", str(taken.getsockname()[1]))
        out, err = process.communicate(timeout=120)
    assert process.returncode == 2 and "is in use; pick another with --port" in err


def test_a_server_killed_mid_run_costs_the_episodes_in_flight_and_resume_plays_them(tiny_path, require, tmp_path):
    require("xllamacpp")
    require("textworld_express")
    from agentkit.envs.eval import EpisodeLog
    from agentkit.errors import ModelServerError
    from agentkit.experiments import EvalConfig, run_eval
    from agentkit.experiments.harness import server_failed

    port = _free_port()
    args = ("qwen-0.5b", "--parallel", "2", "--port", str(port), "--threads", "2", "--ctx", "2048")
    process = _serve(*args)
    try:
        spec = _spec(process)
        config = EvalConfig(env="twx", limit=4, max_steps=3, concurrency=2, max_tokens=32, model=spec)

        def crash_after_the_first(record) -> None:
            if process.poll() is None:
                process.kill()  # SIGKILL: a crash, not a clean stop
                process.wait(timeout=30)

        try:
            asyncio.run(run_eval(config, out=tmp_path, on_record=crash_after_the_first))
            stopped = False
        except ModelServerError as e:
            stopped = True
            assert "in a row" in str(e) and "--resume" in str(e)
        lines = EpisodeLog(tmp_path).load()
        lost = [r for r in lines if server_failed(r)]
        assert lines[0]["error"] is None and lost, lines  # the first finished; those in flight are errors
        assert all(f"127.0.0.1:{port}" in r["error"] for r in lost)
        assert stopped == (len(lost) >= 3)  # down for 2 in flight + 1 more: the run stops, else it went on

        process = _serve(*args)  # the same port again
        assert _spec(process) == spec
        result = asyncio.run(run_eval(config, out=tmp_path, resume=True))
        ids = [r["task_id"] for r in EpisodeLog(tmp_path).load()]
        assert len(ids) == len(set(ids)) == 4 and result.errors == 0  # each episode once, none lost
        assert ids[0] == lines[0]["task_id"]  # what finished before the crash was kept, not replayed
    finally:
        if process.poll() is None:
            process.kill()
