"""The harness: K episodes at once, one fsynced JSONL line (an EpisodeRecord) per finished episode; crashes,
agent bugs and kill -9 survived; callbacks that raise cannot hurt the run."""

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentkit.envs.eval import EpisodeLog
from agentkit.errors import ModelServerError
from agentkit.experiments import EpisodeFinished, EpisodeRecord, EpisodeStarted, play_episodes
from agentkit.experiments.harness import Callbacks, server_failed
from tests.unit.envs.fakes import Coin


async def greedy(env, task_id):
    await env.reset(task_id)
    result = await env.step("take coin")
    return EpisodeRecord(task_id=task_id, won=result.won, reward=result.reward, steps=1)


def test_runs_every_episode_once_with_k_workers_and_closes_their_environments(tmp_path):
    made = []

    def make():
        made.append(Coin())
        return made[-1]

    log = EpisodeLog(tmp_path)
    records = asyncio.run(play_episodes(make, [f"t{i}" for i in range(6)], greedy, log, concurrency=3))
    assert sorted(r.task_id for r in records) == [f"t{i}" for i in range(6)]
    assert len(made) == 3 and all(env.closed for env in made)
    lines = log.path.read_text().splitlines()
    assert len(lines) == 6 and all(json.loads(x)["won"] and json.loads(x)["seconds"] >= 0 for x in lines)


def test_a_crashing_environment_is_an_error_record_and_the_eval_goes_on(tmp_path):
    made = []

    def make():
        made.append(Coin())
        return made[-1]

    records = asyncio.run(play_episodes(make, ["t0", "crash1", "t2"], greedy, EpisodeLog(tmp_path)))
    by_id = {r.task_id: r for r in records}
    assert "engine segfault" in by_id["crash1"].error and not by_id["crash1"].won
    assert by_id["t0"].won and by_id["t2"].won and by_id["t2"].error is None
    assert by_id["crash1"].task_type == "odd" and by_id["crash1"].env == "coin"  # still says which episode
    assert len(made) == 2 and made[0].closed  # the crashed simulator was replaced


def test_an_agent_bug_is_recorded_and_the_eval_goes_on(tmp_path):
    async def buggy(env, task_id):
        if task_id == "t1":
            raise KeyError("oops")
        return await greedy(env, task_id)

    records = asyncio.run(play_episodes(Coin, ["t0", "t1", "t2"], buggy, EpisodeLog(tmp_path / "a")))
    assert [r.error for r in sorted(records, key=lambda r: r.task_id)] == [None, "KeyError: 'oops'", None]


def test_episodes_a_server_blip_fails_are_recorded_and_the_run_goes_on(tmp_path):
    async def blip(env, task_id):
        if task_id in ("t1", "t3"):  # never more in a row than run at once
            raise ModelServerError("The model server at x kept failing")
        return await greedy(env, task_id)

    records = asyncio.run(play_episodes(Coin, [f"t{i}" for i in range(5)], blip, EpisodeLog(tmp_path)))
    by_id = {r.task_id: r for r in records}
    assert len(records) == 5 and [t for t, r in sorted(by_id.items()) if r.won] == ["t0", "t2", "t4"]
    assert by_id["t1"].error == "ModelServerError: The model server at x kept failing"
    assert server_failed(by_id["t3"]) and server_failed(by_id["t3"].to_json()) and not server_failed(by_id["t0"])


def test_a_server_that_stays_down_fails_the_episodes_in_flight_then_stops_the_run(tmp_path):
    started = []

    async def dies_at_t2(env, task_id):
        started.append(task_id)
        if int(task_id[1:]) >= 2:
            await asyncio.sleep(0.01)  # both workers are mid-episode when it goes
            raise ModelServerError("The model server at x kept failing")
        return await greedy(env, task_id)

    log = EpisodeLog(tmp_path)
    with pytest.raises(ModelServerError, match="failed [34] episodes in a row.*rerun with --resume"):
        asyncio.run(play_episodes(Coin, [f"t{i}" for i in range(8)], dies_at_t2, log, concurrency=2))
    lines = log.load()
    assert sorted(r["task_id"] for r in lines if r["won"]) == ["t0", "t1"]  # two workers: either may finish first
    failed = sorted(r["task_id"] for r in lines if server_failed(r))
    assert failed[:3] == ["t2", "t3", "t4"] and len(failed) <= 4  # the 2 in flight, then 1 more on each worker
    assert "t6" not in started and "t7" not in started  # it stopped instead of failing the rest


def test_resume_skips_finished_episodes_and_drops_a_torn_last_line(tmp_path):
    log = EpisodeLog(tmp_path)
    asyncio.run(play_episodes(Coin, ["t0", "t1"], greedy, log))
    with open(log.path, "ab") as f:
        f.write(b'{"task_id": "t2", "won": tr')  # killed mid-write
    assert [r["task_id"] for r in log.load()] == ["t0", "t1"]
    assert log.path.read_bytes().endswith(b"}\n")
    played = []

    async def counting(env, task_id):
        played.append(task_id)
        return await greedy(env, task_id)

    records = asyncio.run(play_episodes(Coin, ["t0", "t1", "t2", "t3"], counting, log))
    assert played == ["t2", "t3"] and sorted(r.task_id for r in records) == ["t0", "t1", "t2", "t3"]


_SLOW_EVAL = """
import asyncio, sys
from agentkit.envs.eval import EpisodeLog
from agentkit.experiments import EpisodeRecord, play_episodes
from tests.unit.envs.fakes import Coin

async def play(env, task_id):
    await env.reset(task_id)
    await env.step("look")
    result = await env.step("take coin")
    return EpisodeRecord(task_id=task_id, won=result.won, reward=result.reward, steps=2)

asyncio.run(play_episodes(lambda: Coin(n=40, delay=0.05), [f"t{i}" for i in range(40)], play,
                          EpisodeLog(sys.argv[1]), concurrency=3))
"""


def test_kill_9_mid_eval_then_resume_loses_and_duplicates_nothing(tmp_path):
    root = Path(__file__).resolve().parents[3]
    script = tmp_path / "slow_eval.py"
    script.write_text(_SLOW_EVAL)
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, str(script), str(out)], env=env)
    log = EpisodeLog(out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not log.path.exists() or len(log.path.read_bytes().splitlines()) < 6):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = log.load()
    assert 6 <= len(before) < 40
    subprocess.run([sys.executable, str(script), str(out)], env=env, check=True, timeout=120)
    after = [r["task_id"] for r in log.load()]
    assert sorted(after) == sorted(f"t{i}" for i in range(40)) and len(after) == 40
    assert after[: len(before)] == [r["task_id"] for r in before]  # finished episodes kept as they were


def test_a_callback_that_raises_is_logged_once_and_every_record_is_still_written(tmp_path, caplog):
    seen = []

    def broken_record(record):
        raise RuntimeError("the UI fell over")

    def broken_event(task_id, event):
        seen.append(type(event))
        raise ValueError("so did the event panel")

    callbacks = Callbacks(broken_record, broken_event)
    with caplog.at_level(logging.WARNING, logger="agentkit.experiments"):
        records = asyncio.run(play_episodes(Coin, ["t0", "t1", "t2"], greedy, EpisodeLog(tmp_path),
                                            callbacks=callbacks))
        callbacks.close()
    assert len(records) == 3 and len(EpisodeLog(tmp_path).load()) == 3
    assert seen.count(EpisodeStarted) == 3 and seen.count(EpisodeFinished) == 3  # still called every time
    assert callbacks.failures == {"on_record": 3, "on_event": 6}
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert sorted(str(r.exc_info[1]) for r in tracebacks) == ["so did the event panel", "the UI fell over"]
    assert any("on_event raised 6 times" in r.getMessage() for r in caplog.records)
