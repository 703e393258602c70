"""The Ray executor on a real local Ray cluster (2 CPUs on 127.0.0.1): episodes on worker actors, results
and events streamed back to the driver, a worker killed mid-episode, and bad addresses."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentkit.envs.base import Obs, StepResult, ThreadedEnv
from agentkit.envs.eval import EpisodeLog
from agentkit.errors import UserError
from agentkit.experiments.config import EvalConfig
from agentkit.experiments.executors import RayExecutor, get_executor
from agentkit.experiments.records import EpisodeRecord
from agentkit.experiments.run import run_eval

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster(require):
    require("ray")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test file
    yield ray
    ray.shutdown()


class Coin(ThreadedEnv):
    name = "coin"

    def task_ids(self):
        return [str(i) for i in range(6)]

    def _reset(self, task_id):
        return Obs("A coin.", task="take the coin", admissible=["take coin"])

    def _step(self, action):
        return StepResult("Taken.", reward=1.0, done=True, won=True)


@dataclass
class _Config:
    memory: str | None = None
    frozen: bool = False
    model: str | None = "scripted:x"


@dataclass
class DyingRecipe:
    """Builds a player that kills its own worker process while playing ``doomed`` (once per marker file, or
    every time when ``always``): a worker dying mid-episode."""

    doomed: str
    marker: str
    always: bool = False
    config: _Config = None  # type: ignore[assignment]

    def __post_init__(self):
        self.config = _Config()

    async def build(self, on_event, **_):
        async def play(env, task_id):
            await env.reset(task_id)
            if task_id == self.doomed and (self.always or not Path(self.marker).exists()):
                Path(self.marker).touch()
                os.kill(os.getpid(), signal.SIGKILL)
            result = await env.step("take coin")
            on_event(task_id, "played")
            return EpisodeRecord(task_id=task_id, won=result.won, reward=result.reward, steps=1)
        return play, None


def test_a_learning_run_is_refused_on_ray_before_anything_is_written(tmp_path, require):
    require("ray")
    config = EvalConfig(env="twx", limit=1, learn=True, memory=str(tmp_path / "mem"), model="scripted:x")
    with pytest.raises(UserError, match="--executor local"):
        asyncio.run(run_eval(config, out=tmp_path / "run", executor=get_executor("ray")))
    assert not (tmp_path / "run").exists()


def test_an_address_where_nothing_answers_says_how_to_start_a_cluster(tmp_path, require):
    require("ray")
    import ray

    assert not ray.is_initialized()  # these tests run before the module's cluster starts
    config = EvalConfig(env="twx", limit=1, model="scripted:x")
    with pytest.raises(UserError, match="ray start --head"):
        asyncio.run(run_eval(config, out=tmp_path / "run", executor=get_executor("ray", address="127.0.0.1:9")))


def test_without_ray_installed_the_executor_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    config = EvalConfig(env="twx", limit=1, model="scripted:x")
    with pytest.raises(UserError, match=r"pip install 'agentkit\[ray\]'"):
        asyncio.run(run_eval(config, out=tmp_path / "run", executor=get_executor("ray")))


def _play(tmp_path, recipe, concurrency=2):
    log = EpisodeLog(tmp_path / "run")
    log.start({"env": "coin"}, resume=False)
    seen = []
    from agentkit.experiments.harness import Callbacks

    records = asyncio.run(RayExecutor().play(Coin, Coin().task_ids(), log, player=None, recipe=recipe,
                                             concurrency=concurrency,
                                             callbacks=Callbacks(on_event=lambda t, e: seen.append((t, e)))))
    return records, log.load(), seen


def test_a_worker_killed_mid_episode_gets_the_episode_played_again_on_a_new_worker(cluster, tmp_path):
    records, lines, seen = _play(tmp_path, DyingRecipe("2", str(tmp_path / "died")))
    assert (tmp_path / "died").exists()  # the worker did die playing episode 2
    assert sorted(r["task_id"] for r in lines) == [str(i) for i in range(6)]  # each written once
    assert all(r["won"] and r["error"] is None for r in lines)
    assert sorted(t for t, e in seen if e == "played") == [str(i) for i in range(6)]  # events came back
    assert [type(e).__name__ for t, e in seen if t == "2"].count("EpisodeStarted") == 1


def test_an_episode_whose_worker_dies_twice_is_recorded_as_an_error_and_the_run_goes_on(cluster, tmp_path):
    records, lines, _ = _play(tmp_path, DyingRecipe("3", str(tmp_path / "died"), always=True))
    by_id = {r["task_id"]: r for r in lines}
    assert sorted(by_id) == [str(i) for i in range(6)]
    assert "died 2 times" in by_id["3"]["error"] and by_id["3"]["task_type"] == Coin().task_type("3")
    assert all(r["won"] for i, r in by_id.items() if i != "3")


def test_an_eval_on_textworld_express_runs_on_ray_and_resumes_from_its_log(cluster, tmp_path, require):
    require("textworld_express")
    config = EvalConfig(env="twx", limit=3, max_steps=2, concurrency=2,
                        model="scripted:Thought: look.\nAction: look around")
    result = asyncio.run(run_eval(config, out=tmp_path / "twx", executor=get_executor("ray")))
    assert len(result.records) == 3 and all(r.steps == 2 and r.error is None for r in result.records)
    lines = EpisodeLog(tmp_path / "twx").load()
    assert sorted(r["task_id"] for r in lines) == sorted(config_tasks := [r.task_id for r in result.records])
    again = asyncio.run(run_eval(config, out=tmp_path / "twx", resume=True, executor=get_executor("ray")))
    assert again.already_done == 3 and len(EpisodeLog(tmp_path / "twx").load()) == 3
    assert sorted(r.task_id for r in again.records) == sorted(config_tasks)


@pytest.mark.llm
def test_the_tiny_embedded_model_plays_on_a_ray_worker_with_its_share_of_the_cores(cluster, tmp_path, tiny_path,
                                                                                   require):
    require("textworld_express")
    config = EvalConfig(env="twx", limit=1, max_steps=2, concurrency=1, model=f"llamacpp:{tiny_path}?n_ctx=2048",
                        max_tokens=32, demos=False)  # a short prompt: the point is where the model runs
    result = asyncio.run(run_eval(config, out=tmp_path / "tiny", executor=get_executor("ray")))
    assert len(result.records) == 1 and all(r.error is None and r.steps >= 1 for r in result.records)
    assert all(r.tokens.get("completion", 0) > 0 for r in result.records)
