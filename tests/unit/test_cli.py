import json
import re

import pytest

from agentkit.cli import main


def test_run_prints_the_answer_and_usage(capsys):
    assert main(["run", "What is 2+2?", "--model", "scripted:Two plus two. Answer: 4"]) == 0
    out = capsys.readouterr().out
    assert "Two plus two. Answer: 4" in out
    assert re.search(r"╭─ Answer ─+╮\n│ 4 +│", out)
    assert "calls" in out and "completion tokens" in out


def test_run_json_has_a_stable_shape(capsys):
    assert main(["run", "2+2?", "--model", "scripted:Answer: 4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["state"]["answer"] == "4"
    assert set(data["usage"]) == {"calls", "prompt_tokens", "cached_tokens", "completion_tokens", "seconds",
                                  "wall_seconds"}
    assert data["usage"]["calls"] == 1


def test_run_reports_clock_time_when_the_workflow_calls_concurrently(capsys):
    # best-of-n asks the judge about its 3 candidates at once: 4 calls of 0.3 s each take about 0.6 s
    assert main(["run", "--task", "gsm8k", "q", "--workflow", "best-of-n", "--n", "3", "--verifier", "llm", "--json",
                 "--model", "scripted:3 * 4 = 12.\n\nThe answer is \\boxed{12}.?delay=0.3"]) == 0
    usage = json.loads(capsys.readouterr().out)["usage"]
    assert usage["calls"] == 4 and usage["seconds"] >= 1.2
    assert 0.6 <= usage["wall_seconds"] < 1.0


def test_the_model_can_come_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("AGENTKIT_MODEL", "scripted:Answer: 7")
    assert main(["run", "3+4?", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"]["answer"] == "7"


def test_a_bad_spec_exits_2_with_a_message_that_says_what_to_do(capsys):
    assert main(["run", "hi", "--model", "gpt-17"]) == 2
    err = capsys.readouterr().err
    assert "Unknown model spec 'gpt-17'" in err and "agentkit models" in err


def test_a_server_that_is_down_exits_1_and_names_it(capsys):
    code = main(["run", "hi", "--model", "openai:http://127.0.0.1:9/v1#m?retries=0&timeout=2"])
    assert code == 1
    assert "127.0.0.1:9/v1" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "models"])
def test_help_shows_examples(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert "examples:" in capsys.readouterr().out


def test_models_lists_the_bundled_models_and_spec_forms(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "qwen-1.5b" in out and "qwen-0.5b" in out and "openai:URL#MODEL" in out


def test_models_resolves_a_spec_without_loading_it(capsys):
    assert main(["models", "openai:http://127.0.0.1:8000/v1#qwen", "--no-check"]) == 0
    out = capsys.readouterr().out
    assert "backend  openai" in out and "http://127.0.0.1:8000/v1#qwen" in out


def test_run_a_tasks_problems_with_workflow_options(capsys):
    code = main(["run", "--task", "game24", "--limit", "2", "--workflow", "sc", "--n", "3",
                 "--model", "scripted:Answer: (13 - 9) * (10 - 4) = 24", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["runs"]) == 2 and data["usage"]["calls"] == 2
    assert all(r["correct"] is False and r["state"]["votes"] for r in data["runs"])  # wrong numbers for the puzzle


def test_run_a_task_problem_prints_a_verdict_and_budget_stops(capsys):
    code = main(["run", "--task", "game24", "4 9 10 13", "--workflow", "tot", "--algo", "beam", "--max-calls", "2",
                 "--model", "scripted:13 - 9 = 4 (left: 4 4 10)"])
    out = capsys.readouterr().out
    assert code == 0 and "stopped: call limit reached (2 of 2 calls)" in out and "✗ wrong" in out


def test_an_option_the_workflow_does_not_take_is_a_clear_error(capsys):
    assert main(["run", "q", "--workflow", "cot", "--algo", "bfs", "--model", "scripted:x"]) == 2
    assert "Workflow 'cot' does not take --algo" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["--task", "game24", "1 2"], "A Game of 24 puzzle is four whole numbers"),
    (["--task", "game24", "--problem", "g24-9999"], "has no problem 'g24-9999'; ids run from g24-0000 to g24-1361"),
    (["--task", "arithmetic", "--limit", "-2"], "--limit must be between 1 and 96"),
    (["q", "--checkpoint", "/etc/passwd"], "Cannot use /etc/passwd as a checkpoint file"),
    (["--task", "game24", "--limit", "1", "--workflow", "tot", "--breadth", "0"], "must be at least 1"),
])
def test_bad_run_input_exits_2_and_says_what_to_do(args, message, capsys):
    assert main(["run", *args, "--model", "scripted:x"]) == 2
    assert message in " ".join(capsys.readouterr().err.split())


def test_a_run_that_dies_part_way_still_shows_the_problems_that_finished(capsys, monkeypatch):
    from agentkit.errors import ModelServerError
    from agentkit.models.testing import ScriptedModel

    calls = {"n": 0}

    def respond(request):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ModelServerError("the server went away")
        return "Answer: 5"

    monkeypatch.setattr("agentkit.models.registry.load_model", lambda spec: ScriptedModel(respond))
    assert main(["run", "--task", "arithmetic", "--limit", "3"]) == 1
    captured = capsys.readouterr()
    assert "1 of 3 problems finished before the run stopped" in captured.out and "arith-000" in captured.out
    assert "the server went away" in captured.err


def test_run_gsm8k_problems_prints_the_per_problem_table_and_accuracy(capsys, monkeypatch, tmp_path):
    rows = [{"question": f"Problem {i}: what is 2 + {i % 2 * 2}?", "answer": f"#### {2 + i % 2 * 2}"} for i in range(6)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setenv("GSM8K_DATA", str(tmp_path))
    monkeypatch.setattr("agentkit.workflows.tasks.gsm8k.Gsm8kTask.dev_size", 0)
    assert main(["run", "--task", "gsm8k", "--workflow", "sc", "--n", "3", "--limit", "2",
                 "--model", "scripted:2 + 2 = 4.\n\nThe answer is \\boxed{4}."]) == 0
    out = capsys.readouterr().out
    solved = sum(f"train-000{i}" in out for i in (1, 3, 5))  # the seeded sample's odd problems are right
    assert "Problems" in out and f"solved {solved} of 2 ({solved / 2:.0%})" in out


def test_run_takes_a_verifier_spec_and_refuses_an_unknown_one(capsys):
    assert main(["run", "--task", "gsm8k", "q", "--workflow", "best-of-n", "--n", "2", "--verifier", "task",
                 "--aggregate", "min", "--model", "scripted:3 * 4 = 12.\n\nThe answer is \\boxed{12}.", "--json"]) == 0
    state = json.loads(capsys.readouterr().out)["state"]
    assert state["answer"] == "12" and state["score"] == 1.0
    assert main(["run", "q", "--workflow", "best-of-n", "--verifier", "oracle", "--model", "scripted:x"]) == 2
    assert "Unknown verifier 'oracle'" in capsys.readouterr().err
