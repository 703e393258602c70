import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agentkit.envs.eval import EpisodeLog, evaluate, select_tasks
from agentkit.envs.base import EnvCrashed
from agentkit.errors import ModelServerError, UserError
from tests.unit.envs.fakes import Coin


async def greedy(env, task_id):
    await env.reset(task_id)
    result = await env.step("take coin")
    return {"won": result.won, "reward": result.reward, "steps": 1}


def test_runs_every_episode_once_with_k_workers_and_closes_their_environments(tmp_path):
    made = []

    def make():
        made.append(Coin())
        return made[-1]

    log = EpisodeLog(tmp_path)
    records = asyncio.run(evaluate(make, [f"t{i}" for i in range(6)], greedy, log, concurrency=3))
    assert sorted(r["task_id"] for r in records) == [f"t{i}" for i in range(6)]
    assert len(made) == 3 and all(env.closed for env in made)
    lines = log.path.read_text().splitlines()
    assert len(lines) == 6 and all(json.loads(x)["won"] and json.loads(x)["seconds"] >= 0 for x in lines)


def test_a_crashing_environment_is_an_error_record_and_the_eval_goes_on(tmp_path):
    made = []

    def make():
        made.append(Coin())
        return made[-1]

    records = asyncio.run(evaluate(make, ["t0", "crash1", "t2"], greedy, EpisodeLog(tmp_path)))
    by_id = {r["task_id"]: r for r in records}
    assert "engine segfault" in by_id["crash1"]["error"] and not by_id["crash1"]["won"]
    assert by_id["t0"]["won"] and by_id["t2"]["won"] and by_id["t2"]["error"] is None
    assert len(made) == 2 and made[0].closed  # the crashed simulator was replaced


def test_an_agent_bug_is_recorded_but_an_unreachable_model_stops_the_eval(tmp_path):
    async def buggy(env, task_id):
        if task_id == "t1":
            raise KeyError("oops")
        return await greedy(env, task_id)

    records = asyncio.run(evaluate(Coin, ["t0", "t1", "t2"], buggy, EpisodeLog(tmp_path / "a")))
    assert [r["error"] for r in sorted(records, key=lambda r: r["task_id"])] == [None, "KeyError: 'oops'", None]

    async def down(env, task_id):
        if task_id == "t1":
            raise ModelServerError("server gone")
        return await greedy(env, task_id)

    log = EpisodeLog(tmp_path / "b")
    with pytest.raises(ModelServerError):
        asyncio.run(evaluate(Coin, ["t0", "t1", "t2"], down, log))
    assert "t1" not in {r["task_id"] for r in log.load()}  # not recorded, so a resume plays it


def test_resume_skips_finished_episodes_and_drops_a_torn_last_line(tmp_path):
    log = EpisodeLog(tmp_path)
    asyncio.run(evaluate(Coin, ["t0", "t1"], greedy, log))
    with open(log.path, "ab") as f:
        f.write(b'{"task_id": "t2", "won": tr')  # killed mid-write
    assert [r["task_id"] for r in log.load()] == ["t0", "t1"]
    assert log.path.read_bytes().endswith(b"}\n")
    played = []

    async def counting(env, task_id):
        played.append(task_id)
        return await greedy(env, task_id)

    records = asyncio.run(evaluate(Coin, ["t0", "t1", "t2", "t3"], counting, log))
    assert played == ["t2", "t3"] and sorted(r["task_id"] for r in records) == ["t0", "t1", "t2", "t3"]


def test_corrupt_line_in_the_middle_is_refused(tmp_path):
    log = EpisodeLog(tmp_path)
    log.path.write_text('{"task_id": "a"}\nnot json\n{"task_id": "b"}\n')
    with pytest.raises(UserError, match="corrupt record in the middle"):
        log.load()


def test_start_refuses_to_mix_runs(tmp_path):
    log = EpisodeLog(tmp_path)
    assert log.start({"env": "coin", "concurrency": 1}, resume=False) == []
    asyncio.run(evaluate(Coin, ["t0"], greedy, log))
    with pytest.raises(UserError, match="Pass --resume"):
        log.start({"env": "coin", "concurrency": 1}, resume=False)
    with pytest.raises(UserError, match=r"different settings \(env\)"):
        log.start({"env": "other", "concurrency": 1}, resume=True)
    assert len(log.start({"env": "coin", "concurrency": 4}, resume=True)) == 1  # concurrency may change
    # a setting added to agentkit after the run began: off is the same run, on is not
    assert len(log.start({"env": "coin", "concurrency": 4, "frozen": False, "memory": None}, resume=True)) == 1
    log.config_path.write_text('{"env": "coin", "concurrency": 4}')
    with pytest.raises(UserError, match=r"different settings \(memory\)"):
        log.start({"env": "coin", "concurrency": 4, "memory": "mem"}, resume=True)
    with pytest.raises(UserError, match="Nothing to resume"):
        EpisodeLog(tmp_path / "new").start({}, resume=True)


def test_select_tasks_interleaves_types_and_checks_ids():
    env = Coin(n=6)
    assert select_tasks(env, per_type=2) == ["t0", "t1", "t2", "t3"]
    assert select_tasks(env, per_type=2, limit=3) == ["t0", "t1", "t2"]
    assert select_tasks(env, tasks=["t5"]) == ["t5"]
    with pytest.raises(UserError, match="Unknown task id"):
        select_tasks(env, tasks=["nope"])


_SLOW_EVAL = """
import asyncio, sys
from agentkit.envs.eval import EpisodeLog, evaluate
from tests.unit.envs.fakes import Coin

async def play(env, task_id):
    await env.reset(task_id)
    await env.step("look")
    result = await env.step("take coin")
    return {"won": result.won, "reward": result.reward, "steps": 2}

asyncio.run(evaluate(lambda: Coin(n=40, delay=0.05), [f"t{i}" for i in range(40)], play,
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


def test_report_tables_summarise_per_task_type_and_keep_long_type_names_whole():
    from rich.console import Console

    from agentkit.envs.report import comparison_table, run_table

    records = [{"task_type": "pick_clean_then_place_in_recep", "won": True, "reward": 1.0, "steps": 4},
               {"task_type": "pick_clean_then_place_in_recep", "won": False, "reward": 0.0, "steps": 10},
               {"task_type": "look", "won": False, "reward": 0.0, "steps": 6, "error": "engine crashed"}]
    shown = []
    for table in (run_table(records), comparison_table({"a": records, "b": records[:1]})):
        console = Console(width=80, record=True)
        console.print(table)
        shown.append(console.export_text())
    assert all("pick_clean_then_place_in_recep " in text for text in shown)
    shown = shown[1]
    assert "33% (1/3)" in shown and "100% (1/1)" in shown and "-" in shown.split("look")[-1]


def test_a_call_faster_than_a_thread_hop_runs_on_the_loop_and_a_slow_one_on_the_worker():
    class Where(Coin):
        inline_seconds = 0.001  # opted in, as TextWorldExpress is

        def _step(self, action):
            threads.append(threading.current_thread().name)
            return super()._step(action)

    async def play(env):
        await env.reset("t0")
        for _ in range(3):
            await env.step("look")
        await env.close()

    threads: list[str] = []
    asyncio.run(play(Where()))
    assert threads[0].startswith("agentkit-coin") and threads[1:] == ["MainThread", "MainThread"]
    threads.clear()
    asyncio.run(play(Where(delay=0.002)))  # over the 1 ms threshold: always the worker
    assert all(t.startswith("agentkit-coin") for t in threads) and len(threads) == 3
    threads.clear()
    Where.inline_seconds = 0.0  # the default: every call on the worker, however fast
    asyncio.run(play(Where()))
    assert all(t.startswith("agentkit-coin") for t in threads) and len(threads) == 3
    env = Where()  # a crash on the loop's thread is still the episode's EnvCrashed
    env.inline_seconds, env._seconds["step"], env.task_id = 0.001, 0.0, "crash1"
    with pytest.raises(EnvCrashed, match="segfault"):
        asyncio.run(env.step("look"))
