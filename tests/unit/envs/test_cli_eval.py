import json

from agentkit.cli import main
from agentkit.envs.webshop.server import serving


def test_eval_then_report_on_the_webshop_fixture_with_a_scripted_model(tmp_path, capsys):
    out = tmp_path / "run"
    with serving() as url:
        args = ["eval", "--env", "webshop", "--env-option", f"url={url}", "--env-option", "goals=3", "-m",
                "scripted:Thought: try.\nAction: click[Buy Now]", "--max-steps", "2", "--out", str(out)]
        assert main(args) == 0
        records = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
        assert [r["task_id"] for r in records] == ["0", "1", "2"]
        assert all(r["steps"] == 2 and not r["won"] and r["trajectory"][0]["valid"] is False for r in records)
        assert records[0]["stop_reason"] == "step limit reached (2 steps)" and records[0]["tokens"]["total"] > 0
        assert (out / "success.png").stat().st_size > 1000
        assert main(args) == 2  # the run exists: refuse to mix, say --resume
        assert "Pass --resume" in capsys.readouterr().err
        assert main([*args, "--resume"]) == 0  # nothing left to play
        assert len((out / "episodes.jsonl").read_text().splitlines()) == 3
        (out / "config.json").write_text("{ damaged")
        assert main([*args, "--resume"]) == 2
        assert "(damaged?)" in capsys.readouterr().err
        assert len((out / "episodes.jsonl").read_text().splitlines()) == 3  # nothing lost
    capsys.readouterr()
    assert main(["report", str(out), str(out / "episodes.jsonl"), "--no-plot"]) == 0
    shown = capsys.readouterr().out
    assert "shopping" in shown and "0% (0/3)" in shown


def test_eval_refuses_bad_input_before_playing(tmp_path, capsys):
    assert main(["eval", "--env", "chess", "--out", str(tmp_path / "a")]) == 2
    assert "Unknown environment 'chess'" in capsys.readouterr().err
    assert main(["eval", "--env", "webshop", "--env-option", "colour=red", "--out", str(tmp_path / "b")]) == 2
    assert "has no option colour" in capsys.readouterr().err
    assert main(["eval", "--env", "webshop", "--env-option", "goals=many", "--out", str(tmp_path / "c")]) == 2
    assert "goals='many' should be a whole number" in capsys.readouterr().err
    assert main(["eval", "--env", "webshop", "--limit", "0", "--out", str(tmp_path / "d")]) == 2
    assert "--limit must be at least 1, not 0" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "give a run folder" in capsys.readouterr().err


def test_environment_options_are_the_constructor_parameters_converted_from_text():
    from agentkit.envs.registry import make_env, options_of

    assert options_of("twx") == ["episodes", "games", "params"]  # games is positional-or-keyword
    env = make_env("twx", games="coin,arithmetic", params="numLocations=2,includeDoors=0", episodes="3")
    assert env.games == ["coin", "arithmetic"] and env.episodes == 3 and env.split == "test"
    assert env.params["coin"] == "numLocations=2,includeDoors=0"


def test_textworld_express_params_can_be_set_per_game_and_bad_ones_are_named():
    import pytest

    from agentkit.envs.textworld_express import TextWorldExpress
    from agentkit.errors import UserError

    env = TextWorldExpress(["coin", "twc", "sorting"], params="coin:numLocations=2; twc:numItemsToPutAway=1")
    assert env.params == {"coin": "numLocations=2", "twc": "numItemsToPutAway=1"}
    with pytest.raises(UserError, match="Bad TextWorldExpress params 'chess:depth=2'"):
        TextWorldExpress(params="coin:numLocations=2;chess:depth=2")
