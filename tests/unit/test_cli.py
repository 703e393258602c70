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
    assert set(data["usage"]) == {"calls", "prompt_tokens", "cached_tokens", "completion_tokens", "seconds"}
    assert data["usage"]["calls"] == 1


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
