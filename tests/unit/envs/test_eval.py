import asyncio
import threading

import pytest

from agentkit.envs.eval import EpisodeLog, select_tasks
from agentkit.envs.base import EnvCrashed
from agentkit.errors import UserError
from tests.unit.envs.fakes import Coin


def test_corrupt_line_in_the_middle_is_refused(tmp_path):
    log = EpisodeLog(tmp_path)
    log.path.write_text('{"task_id": "a"}\nnot json\n{"task_id": "b"}\n')
    with pytest.raises(UserError, match="corrupt record in the middle"):
        log.load()


def test_start_refuses_to_mix_runs(tmp_path):
    log = EpisodeLog(tmp_path)
    assert log.start({"env": "coin", "concurrency": 1}, resume=False) == []
    log.append({"task_id": "t0", "won": True})
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
        inline_seconds = 0.05  # opted in, as TextWorldExpress is (a threshold far above a trivial step, so
        # a loaded machine that preempts the test does not push it over)

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
    asyncio.run(play(Where(delay=0.1)))  # over the threshold: always the worker
    assert all(t.startswith("agentkit-coin") for t in threads) and len(threads) == 3
    threads.clear()
    Where.inline_seconds = 0.0  # the default: every call on the worker, however fast
    asyncio.run(play(Where()))
    assert all(t.startswith("agentkit-coin") for t in threads) and len(threads) == 3
    env = Where()  # a crash on the loop's thread is still the episode's EnvCrashed
    env.inline_seconds, env._seconds["step"], env.task_id = 0.05, 0.0, "crash1"
    with pytest.raises(EnvCrashed, match="segfault"):
        asyncio.run(env.step("look"))
