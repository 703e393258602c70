"""Designs are data: validated against the schema and the workflows, hashed canonically, mapped onto runs."""

import asyncio
import json
from pathlib import Path

import pytest

from agentkit.experiments import run_eval
from agentkit.experiments.designs import Design, DesignError, load_design
from agentkit.workflows.tasks import TASKS
from tests.unit.experiments.test_problems import Fours

EXAMPLES = Path(__file__).parents[3] / "examples" / "designs"


def _design(**sections):
    return Design.from_data({"schema": 1, "workflow": {"kind": "cot"}, **sections})


def test_the_id_ignores_labels_key_order_and_spelled_out_defaults_but_not_behaviour():
    plain = _design()
    labelled = Design.from_data({"name": "x", "notes": "n", "parents": ["0123456789ab"], "workflow": {"kind": "cot"},
                                 "schema": 1, "sampling": {"max_tokens": 512, "temperature": 0.0}})
    assert plain.id == labelled.id and len(plain.id) == 12
    assert _design(sampling={"temperature": 0.5}).id != plain.id
    assert Design.from_data({"schema": 1, "workflow": {"kind": "sc", "options": {"n": 4}}}).id != \
        Design.from_data({"schema": 1, "workflow": {"kind": "sc", "options": {"n": 5}}}).id


def test_yaml_round_trips_to_the_same_design(tmp_path):
    design = load_design(EXAMPLES / "gsm8k-cot.yaml")
    (tmp_path / "d.yaml").write_text(design.to_yaml())
    again = load_design(tmp_path / "d.yaml")
    assert again.id == design.id and again.name == "gsm8k-cot"
    child = design.derive({"sampling": {"temperature": 0.3, "max_tokens": 512}}, name="warmer")
    assert child.parents == [design.id] and child.id != design.id and child.name == "warmer"


@pytest.mark.parametrize(("data", "message"), [
    ([1, 2], "A design is a mapping of sections"),
    ({"workflow": {"kind": "cot"}}, "the design: 'schema' is a required property"),
    ({"schema": 2, "workflow": {"kind": "cot"}}, "schema: this agentkit reads design schema 1, not 2"),
    ({"schema": 1, "workflow": {"kind": "cot"}, "colour": "red"}, "the design: unknown field ('colour' was unexpected)"),
    ({"schema": 1, "workflow": {"kind": "chess"}}, "workflow.kind: 'chess' is not one of"),
    ({"schema": 1, "workflow": {"kind": "sc", "options": {"n": 99}}}, "workflow.options.n: 99 is out of bounds for sc (1 to 16)"),
    ({"schema": 1, "workflow": {"kind": "sc", "options": {"n": "four"}}}, "workflow.options.n: 'four' is not a number"),
    ({"schema": 1, "workflow": {"kind": "sc", "options": {"beams": 2}}}, "workflow.options.beams: sc has no such option"),
    ({"schema": 1, "workflow": {"kind": "best-of-n", "options": {"verifier": "llm"}}},
     "workflow.options.verifier: set it in the design's verifier section"),
    ({"schema": 1, "workflow": {"kind": "cot"}, "verifier": {"kind": "llm"}}, "verifier: cot uses no verifier"),
    ({"schema": 1, "workflow": {"kind": "cot"}, "roles": {"critic": True}}, "roles.critic: the critic reviews actions"),
    ({"schema": 1, "workflow": {"kind": "sc"}, "roles": {"debate": {"rounds": 1}}}, "roles.debate: each debater reasons as cot"),
    ({"schema": 1, "workflow": {"kind": "react"}, "roles": {"debate": {}}}, "roles.debate: a debate answers questions"),
    ({"schema": 1, "workflow": {"kind": "cot"}, "roles": {"debate": {"rounds": 9}}}, "roles.debate.rounds: 9 is greater than"),
    ({"schema": 1, "workflow": {"kind": "cot"}, "memory": {"recall": True}}, "memory.recall: this version recalls"),
    ({"schema": 1, "workflow": {"kind": "cot"}, "prompts": {"gsm8k_cot": {"user": [{"id": "q", "text": "Solve it."}]}}},
     "prompts.gsm8k_cot: Prompt override 'gsm8k_cot' drops {question}"),
    ({"schema": 1, "workflow": {"kind": "cot"}, "prompts": {"nope": {"user": [{"id": "q", "text": "{question}"}]}}},
     "prompts.nope: There is no packaged prompt named 'nope'"),
    ({"schema": 1, "workflow": {"kind": "cot"}, "prompts": {"cot": {"user": [{"id": "Bad Id", "text": "{question}"}]}}},
     "prompts.cot.user.0.id: 'Bad Id' does not match"),
    ({"schema": 1, "workflow": {"kind": "cot"}, "budget": {"calls": 0}}, "budget.calls: 0 is less than the minimum of 1"),
])
def test_a_bad_design_is_refused_with_the_field_and_the_reason(data, message):
    with pytest.raises(DesignError) as info:
        Design.from_data(data)
    assert str(info.value).startswith(message), str(info.value)


def test_a_bad_file_names_itself_and_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("schema: 1\nworkflow: [unclosed\n")
    with pytest.raises(DesignError, match=r"bad.yaml is not valid YAML or JSON \(line 3\)"):
        load_design(path)
    path.write_text(json.dumps({"schema": 1, "workflow": {"kind": "sc", "options": {"n": 0}}}))
    with pytest.raises(DesignError, match=r"bad.yaml: workflow.options.n: 0 is out of bounds"):
        load_design(path)
    with pytest.raises(DesignError, match="Cannot read the design"):
        load_design(tmp_path / "missing.yaml")


def test_a_design_maps_onto_a_run_of_its_target():
    config = Design.from_data({"schema": 1, "workflow": {"kind": "best-of-n", "options": {"n": 4}},
                               "verifier": {"kind": "task", "aggregate": "min"}, "demos": {"count": 2},
                               "sampling": {"temperature": 0.2, "max_tokens": 300}, "budget": {"calls": 5}}
                              ).eval_config(task="gsm8k", limit=3)
    assert config.task == "gsm8k?shots=2" and config.workflow == "best-of-n" and config.limit == 3
    assert config.options == {"n": 4, "verifier": "task", "aggregate": "min"}
    assert (config.temperature, config.max_tokens, config.budget) == (0.2, 300, {"calls": 5})
    planned = _design(roles={"planner": True}).eval_config(task="gsm8k")
    assert planned.workflow == "planned" and planned.options == {"workflow": "cot"}
    debate = load_design(EXAMPLES / "gsm8k-debate.yaml").eval_config(task="gsm8k")
    assert debate.workflow == "debate" and debate.options == {"rounds": 1}
    acting = load_design(EXAMPLES / "twx-react-critic.yaml").eval_config(env="twx", env_options={"games": "coin"})
    assert acting.workflow == "react" and acting.demos
    assert acting.options == {"max_steps": 30, "planner": True, "critic": True}
    recall = Design.from_data({"schema": 1, "workflow": {"kind": "react"},
                               "memory": {"recall": True, "kinds": ["insight", "reflection"], "tokens": 300}})
    config = recall.eval_config(env="twx", env_options={"games": "coin"}, memory="mem/coin")
    assert config.options == {"memory_tokens": 300, "memory_kinds": ["insight", "reflection"]} and config.frozen
    sections = load_design(EXAMPLES / "gsm8k-cot.yaml").eval_config(task="gsm8k").prompts
    assert sections["gsm8k_cot"]["system"] == "Please reason step by step,\nand put your final answer within \\boxed{{}}."


def test_a_design_that_does_not_fit_its_target_is_refused():
    with pytest.raises(DesignError, match="workflow.kind: cot answers questions; an environment needs one of react"):
        _design().eval_config(env="twx")
    with pytest.raises(DesignError, match="workflow.kind: react acts in environments"):
        Design.from_data({"schema": 1, "workflow": {"kind": "react"}}).eval_config(task="gsm8k")
    with pytest.raises(DesignError, match="task: Task 'qa' has no option shots"):
        _design(demos={"count": 2}).eval_config(task="qa")


def test_a_planner_and_a_debate_design_play_through_run_eval(monkeypatch, tmp_path):
    monkeypatch.setitem(TASKS, "fours", Fours)
    for name in ("planned", "debate"):
        roles = {"planner": True} if name == "planned" else {"debate": {"rounds": 1}}
        config = _design(roles=roles).eval_config(task="fours", tasks=["p0", "p3"], model="scripted:Answer: 4")
        result = asyncio.run(run_eval(config, out=tmp_path / name))
        assert [r.won for r in sorted(result.records, key=lambda r: r.task_id)] == [True, False]
        assert all(r.workflow == name for r in result.records)
        assert result.records[0].calls == (2 if name == "planned" else 1)  # the debaters agree at once


def test_agentkit_run_and_eval_take_a_design_and_refuse_flags_it_sets(tmp_path, capsys):
    from agentkit.cli import main

    design = str(EXAMPLES / "gsm8k-debate.yaml")
    assert main(["run", "--task", "arithmetic", "--problem", "arith-001", "--design", design, "-m",
                 "scripted:Answer: 25", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["state"]["answer"] == "25" and out["state"]["decided_by"] == "agreement" and out["correct"]
    assert main(["run", "2+2?", "--design", design, "--n", "3"]) == 2
    assert "--design sets the workflow and its options; drop --n" in capsys.readouterr().err
    assert main(["eval", "--task", "arithmetic", "--design", design, "--limit", "1", "-m", "scripted:Answer: 1",
                 "--out", str(tmp_path / "e"), "--no-plot"]) == 0
    assert json.loads((tmp_path / "e" / "config.json").read_text())["workflow"] == "debate"
    assert main(["eval", "--task", "arithmetic", "--design", design, "--temperature", "0.1"]) == 2
    assert "--design sets the agent; drop --temperature" in capsys.readouterr().err
    assert main(["eval", "--env", "twx", "--design", design]) == 2
    assert "cot answers questions" in capsys.readouterr().err
