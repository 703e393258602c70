"""run_eval from Python: the whole run as one call, every episode's events as they happen, the run's own
events, records as the only shape of episodes.jsonl, learning, and resuming a folder an older agentkit wrote."""

import asyncio
import json

import pytest

from agentkit.envs.eval import EpisodeLog
from agentkit.errors import UserError
from agentkit.events import Action, Done, Observation, Recalled, Thought
from agentkit.experiments import (
    Distilled, EpisodeFinished, EpisodeRecord, EpisodeStarted, EvalConfig, Phase, RunStarted, run_eval,
)
from tests.unit.experiments.conftest import TAKE


def _run(config, out, **kwargs):
    return asyncio.run(run_eval(config, out=out, **kwargs))


def test_a_run_streams_each_episodes_events_as_they_happen_and_writes_its_records(coin_env, tmp_path):
    events, records = [], []
    config = EvalConfig(env=coin_env, tasks=["t0", "t1", "t2"], model=TAKE, concurrency=2)
    result = _run(config, tmp_path / "run", on_record=records.append,
                  on_event=lambda task_id, event: events.append((task_id, event)))
    assert [r.task_id for r in result.records] == [r.task_id for r in records] and len(records) == 3
    assert result.won == 3 and result.success == 1.0 and all(r.steps == 1 and r.model == "scripted" for r in records)
    run_level = [type(e).__name__ for t, e in events if t is None]
    assert run_level == ["Phase", "PhaseDone", "Phase", "PhaseDone", "RunStarted"]  # demos, then the model
    phases = [e for t, e in events if isinstance(e, Phase)]
    assert [p.name for p in phases] == ["demos", "load_model"]
    started = next(e for t, e in events if isinstance(e, RunStarted))
    assert (started.env, started.policy, started.episodes, started.finished, started.model) == \
        ("coin", "react", 3, 0, "scripted")
    for task_id in ("t0", "t1", "t2"):
        kinds = [type(e) for t, e in events if t == task_id]
        assert kinds[0] is EpisodeStarted and kinds[-1] is EpisodeFinished and Done in kinds
        assert kinds.index(Thought) < kinds.index(Action) < kinds.index(Done)
        assert [e.text for t, e in events if t == task_id and isinstance(e, Action)] == ["take coin"]
    lines = [json.loads(x) for x in (tmp_path / "run" / "episodes.jsonl").read_text().splitlines()]
    assert [EpisodeRecord.from_json(x) for x in lines] == records  # the records, and nothing else
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == result.config.to_json()
    assert result.config.tasks == ("t0", "t1", "t2") and result.config.max_steps == 5
    demos = json.loads((tmp_path / "run" / "demos.json").read_text())
    assert set(demos) == {"even", "odd"} and "Action: take coin" in demos["even"]


def test_callbacks_that_raise_do_not_stop_the_run_or_lose_a_record(coin_env, tmp_path):
    def broken(*args):
        raise RuntimeError("the UI fell over")

    result = _run(EvalConfig(env=coin_env, tasks=["t0", "t1"], model=TAKE), tmp_path, on_record=broken,
                  on_event=broken)
    assert result.won == 2 and len(EpisodeLog(tmp_path).load()) == 2


def test_the_expert_learns_into_a_memory_and_the_agent_recalls_it(coin_env, tmp_path):
    from agentkit.memory.experience import Memory

    events = []
    learn = EvalConfig(env=coin_env, policy="expert", learn=True, memory=str(tmp_path / "mem"), embedder="hash",
                       tasks=["t0", "t1"])
    result = _run(learn, tmp_path / "learn", on_event=lambda t, e: events.append(e))
    assert result.config.split == "train" and result.won == 2 and all(r.memory_ids for r in result.records)
    assert any(isinstance(e, Distilled) for e in events) and any(isinstance(e, Observation) for e in events)
    with Memory(tmp_path / "mem", embedder="hash") as memory:
        stored = memory.store.list("trajectory")
        assert [t.source for t in stored] == ["expert", "expert"] and stored[0].steps[-1]["action"] == "take coin"

    events.clear()
    frozen = EvalConfig(env=coin_env, tasks=["t2"], model=TAKE, memory=str(tmp_path / "mem"), embedder="hash",
                        frozen=True)
    _run(frozen, tmp_path / "eval", on_event=lambda t, e: events.append(e))
    recalled = [e for e in events if isinstance(e, Recalled)]
    assert recalled and {i.kind for i in recalled[0].items} == {"trajectory"}


def test_a_folder_written_before_evalconfig_resumes_and_changed_settings_are_refused(coin_env, tmp_path):
    old = {"env": "coin", "split": "test", "env_options": {}, "policy": "agent", "workflow": "react", "options": {},
           "model": TAKE, "max_steps": 5, "demos": False, "temperature": 0.0, "concurrency": 1,
           "tasks": ["t0", "t1"], "memory": None, "frozen": False}  # config.json as agentkit eval wrote it
    (tmp_path / "config.json").write_text(json.dumps(old, indent=2) + "\n")
    EpisodeLog(tmp_path).append({"task_id": "t0", "task_type": "even", "env": "coin", "split": "test", "won": True,
                                 "reward": 1.0, "steps": 1, "error": None, "seconds": 1.0, "finished_at": 1.7e9})
    config = EvalConfig(env=coin_env, tasks=["t0", "t1"], model=TAKE, demos=False, concurrency=2)
    played = []
    result = _run(config, tmp_path, resume=True, on_record=lambda r: played.append(r.task_id))
    assert played == ["t1"] and [r.task_id for r in result.records] == ["t0", "t1"] and result.already_done == 1
    with pytest.raises(UserError, match=r"different settings \(prompts\)"):
        _run(EvalConfig(env=coin_env, tasks=["t0", "t1"], model=TAKE, demos=False,
                        prompts={"act": {"system": "Go.{demo}"}}), tmp_path, resume=True)


def test_no_episode_selected_says_which_fields_to_check(coin_env, tmp_path):
    from agentkit.experiments import ConfigError

    with pytest.raises(ConfigError, match="No episodes selected from coin test; check tasks/limit/per_type"):
        _run(EvalConfig(env=coin_env, tasks=[], model=TAKE), tmp_path)
    assert not (tmp_path / "config.json").exists()  # refused before the run folder was touched


def test_an_option_value_the_simulator_refuses_is_a_config_error_before_the_run_folder(monkeypatch, tmp_path):
    from agentkit.envs.registry import ENVS, EnvSpec
    from agentkit.experiments import ConfigError

    monkeypatch.setitem(ENVS, "coin", EnvSpec("tests.unit.envs.fakes", "PickyCoin", "test", "train", 5))
    with pytest.raises(ConfigError) as e:
        _run(EvalConfig(env="coin", env_options={"n": "0"}, model=TAKE), tmp_path / "run")
    assert e.value.field == "env_options" and "n must be at least 1" in str(e.value)
    assert not (tmp_path / "run").exists()


def test_a_resumed_run_plays_again_the_episodes_a_dead_server_cost(coin_env, tmp_path, monkeypatch):
    from agentkit.errors import ModelServerError
    from agentkit.models.testing import ScriptedModel

    server = {"up": True}

    def respond(request):
        if not server["up"]:
            raise ModelServerError("The model server at x kept failing after 4 attempts")
        return "Thought: take it.\nAction: take coin"

    monkeypatch.setattr("agentkit.models.registry.load_model", lambda spec, **options: ScriptedModel(respond))
    seen = []

    def on_record(record):
        seen.append(record.task_id)
        server["up"] = len(seen) < 2  # it dies after the second episode

    config = EvalConfig(env=coin_env, tasks=[f"t{i}" for i in range(5)], model="scripted:x")
    with pytest.raises(ModelServerError, match="failed 2 episodes in a row"):
        _run(config, tmp_path, on_record=on_record)
    before = EpisodeLog(tmp_path).load()
    assert [(r["task_id"], r["won"], bool(r["error"])) for r in before] == \
        [("t0", True, False), ("t1", True, False), ("t2", False, True), ("t3", False, True)]

    server["up"], seen[:] = True, [-10]  # restarted; on_record keeps it up
    result = _run(config, tmp_path, resume=True, on_record=lambda r: None)
    assert sorted(r.task_id for r in result.records) == [f"t{i}" for i in range(5)]
    assert result.won == 5 and result.errors == 0 and len(EpisodeLog(tmp_path).load()) == 5  # each once
