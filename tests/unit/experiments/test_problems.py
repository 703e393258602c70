"""Reasoning tasks through run_eval: each held-out problem an episode, scored by the environment that alone
knows the reference, with the run's records, budget and resuming."""

import asyncio
import json

import pytest

from agentkit.experiments import EvalConfig, run_eval
from agentkit.experiments.config import ConfigError
from agentkit.experiments.problems import ProblemEnv
from agentkit.workflows.tasks import TASKS, get_task
from agentkit.workflows.tasks.base import Problem, Task


class Fours(Task):
    """Three problems whose answer is 4, one whose answer is 5."""

    name = "fours"

    def problems(self):
        return [Problem(f"p{i}", f"What is {i} + {4 - i}?", "4") for i in range(3)] + [Problem("p3", "2 + 3?", "5")]


@pytest.fixture
def fours(monkeypatch):
    monkeypatch.setitem(TASKS, "fours", Fours)
    return "fours"


def _run(config, out, **kwargs):
    return asyncio.run(run_eval(config, out=out, **kwargs))


def test_each_problem_is_an_episode_scored_against_its_reference(fours, tmp_path):
    result = _run(EvalConfig(task=fours, model="scripted:2 and 2 make 4.\nAnswer: 4", concurrency=2), tmp_path)
    by_id = {r.task_id: r for r in result.records}
    assert sorted(by_id) == ["p0", "p1", "p2", "p3"] and result.won == 3
    wrong = by_id["p3"]
    assert not wrong.won and wrong.trajectory[0]["action"] == "4"
    assert wrong.trajectory[0]["observation"] == "wrong (the reference is 5)"
    assert by_id["p0"].trajectory[0]["thought"].startswith("2 and 2 make 4.")
    assert by_id["p0"].env == "fours" and by_id["p0"].workflow == "cot" and by_id["p0"].tokens["completion"] > 0
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["task"] == "fours" and saved["env"] is None and saved["workflow"] == "cot"


def test_a_reply_without_an_answer_is_a_lost_episode_with_its_reason(fours, tmp_path):
    result = _run(EvalConfig(task=fours, tasks=["p0"], model="scripted:I am not sure."), tmp_path)
    record = result.records[0]
    assert not record.won and record.error is None
    assert record.stop_reason == "the model gave no 'Answer:' line" and record.trajectory[0]["valid"] is False


def test_the_budget_is_per_episode_and_stops_it_cleanly(fours, tmp_path):
    config = EvalConfig(task=fours, workflow="best-of-n", options={"n": 2, "verifier": "llm"}, budget={"calls": 1},
                        tasks=["p0", "p1"], model="scripted:Answer: 4")  # the judge's call is the second
    result = _run(config, tmp_path)
    assert len(result.records) == 2
    assert all(r.calls == 1 and "call limit" in (r.stop_reason or "") for r in result.records)


def test_a_rerun_resumes_and_skips_what_finished(fours, tmp_path):
    config = EvalConfig(task=fours, model="scripted:Answer: 4", limit=2)
    first = _run(config, tmp_path)
    again = _run(config, tmp_path, resume=True)
    assert [r.task_id for r in first.records] == ["p0", "p1"] and again.already_done == 2
    assert len(again.records) == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "Give env (an environment such as alfworld) or task"),
    ({"env": "alfworld", "task": "gsm8k"}, "one of the two"),
    ({"task": "chess"}, "Unknown task 'chess'"),
    ({"task": "gsm8k", "split": "test"}, "split is for environments, not reasoning tasks (put it in the task spec"),
    ({"task": "gsm8k", "env_options": {"games": "coin"}}, "env_options is for environments"),
    ({"task": "gsm8k", "learn": True}, "learn is for environments"),
    ({"task": "gsm8k", "workflow": "cot", "options": {"n": 3}}, "does not take --n"),
    ({"task": "gsm8k", "budget": {"steps": 3}}, "budget has no steps"),
    ({"task": "gsm8k", "budget": {"calls": -1}}, "budget.calls must be a positive number, not -1"),
    ({"task": "gsm8k", "max_tokens": 0}, "max_tokens must be at least 1"),
    ({"task": "gsm8k", "policy": "expert"}, "no reference policy"),
])
def test_a_bad_task_config_names_the_field(kwargs, message):
    with pytest.raises(ConfigError, match=None) as info:
        EvalConfig(**kwargs)
    assert message in str(info.value)


def test_the_task_spec_carries_the_split_and_the_run_keeps_it(fours):
    config = EvalConfig(task="gsm8k?split=test&shots=2")
    assert config.split == "test" and config.workflow == "cot"
    assert EvalConfig(task="gsm8k?split=test", split="test").split == "test"  # the same split is no conflict


def test_gsm8k_episodes_leave_out_the_problems_demonstrations_come_from(tmp_path, monkeypatch):
    lines = [{"question": f"q{i}", "answer": f"work\n#### {i}"} for i in range(6)]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    task = get_task("gsm8k", data_dir=str(tmp_path))
    monkeypatch.setattr(type(task), "dev_size", 2)
    env = ProblemEnv(task)
    assert env.task_ids() == ["train-0002", "train-0003", "train-0004", "train-0005"] and env.split == "train"
    asyncio.run(env.close())


def test_agentkit_eval_runs_a_task_and_names_its_flags_in_errors(tmp_path, capsys):
    from agentkit.cli import main

    out = tmp_path / "run"
    args = ["eval", "--task", "arithmetic", "--workflow", "sc", "--option", "n=2", "--limit", "3", "--max-calls", "2",
            "-m", "scripted:Answer: 12", "--out", str(out), "--no-plot"]
    assert main(args) == 0
    records = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
    assert [r["task_id"] for r in records] == ["arith-000", "arith-001", "arith-002"]
    assert all(r["workflow"] == "sc" and r["env"] == "arithmetic" for r in records)
    assert json.loads((out / "config.json").read_text())["budget"] == {"calls": 2}
    assert "arithmetic" in capsys.readouterr().out
    assert main(["eval", "--task", "arithmetic", "--split", "train", "--out", str(tmp_path / "b")]) == 2
    assert "--split is for environments" in capsys.readouterr().err
    assert main(["eval", "--task", "arithmetic", "--max-calls", "0", "--out", str(tmp_path / "c")]) == 2
    assert "--max-calls must be a positive number, not 0" in capsys.readouterr().err
