"""EvalConfig: a bad field is refused when the config is made, naming the field and what it could be; the JSON
form is the one config.json has always had."""

import json

import pytest

from agentkit.experiments import ConfigError, EvalConfig
from agentkit.experiments.config import RESUMABLE


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"env": "chess"}, "env", "Unknown environment 'chess'; choose from alfworld, textworld_express"),
    ({"split": "validation"}, "split", "Unknown textworld_express split 'validation'; use one of: train, dev, test"),
    ({"env_options": {"colour": "red"}}, "env_options", "has no option colour; it takes: episodes, games, params"),
    ({"env_options": {"episodes": "many"}}, "env_options", "Option episodes='many' should be a whole number"),
    ({"options": {"depth": 3}}, "options", "Workflow 'react' does not take --depth. It takes: task, tools"),
    ({"workflow": "treeofthought"}, "workflow", "Unknown workflow 'treeofthought'. Use one of ['best-of-n'"),
    ({"concurrency": 0}, "concurrency", "concurrency must be at least 1, not 0"),
    ({"per_type": -2}, "per_type", "per_type must be at least 1, not -2"),
    ({"max_steps": 2.5}, "max_steps", "max_steps must be at least 1, not 2.5"),
    ({"policy": "oracle"}, "policy", "policy must be agent or expert, not 'oracle'"),
    ({"frozen": True}, "frozen", "frozen needs memory PATH (the memory to read)"),
    ({"learn": True, "frozen": True, "memory": "m"}, "frozen", "Learning writes to the memory; drop frozen"),
    ({"distill_every": 5}, "distill_every", "distill_every is for learning runs"),
    ({"model": "gpt-17"}, "model", "Unknown model spec 'gpt-17'"),
    ({"tasks": "coin/1"}, "tasks", "tasks is a list of task ids, not one string"),
    ({"prompts": {"act": {"user": "Task: {goal}"}}}, "prompts", "Prompt override 'act' drops {observation}"),
])
def test_a_bad_field_is_refused_naming_it_and_its_valid_values(fields, field, message):
    with pytest.raises(ConfigError) as e:
        EvalConfig(**{"env": "twx", **fields})
    assert message in str(e.value) and e.value.field == field


def test_the_command_line_sees_the_same_errors_in_its_own_flags():
    with pytest.raises(ConfigError) as e:
        EvalConfig(env="twx", frozen=True)
    assert str(e.value.named({"frozen": "--frozen", "memory": "--memory"})) == \
        "--frozen needs --memory PATH (the memory to read)."


def test_aliases_resolve_and_what_the_expert_does_not_use_is_not_part_of_its_run():
    config = EvalConfig(env="twx", policy="expert", workflow="react", options={"context_tokens": "2500"},
                        model="qwen-0.5b", prompts={"cot": {"system": "x {question}"}})
    assert (config.env, config.workflow, config.options, config.model, config.demos, config.prompts) == \
        ("textworld_express", None, {}, None, False, {})
    assert EvalConfig(env="sciworld", tasks=["boil/1"]).tasks == ("boil/1",)
    assert EvalConfig(env="twx", split="valid").split == "valid"  # the adapter's own alias for dev
    assert EvalConfig(env="alfworld", split="valid_seen").split == "valid_seen"
    assert EvalConfig(env="twx", learn=True).memory  # a learning run records into the default memory


def test_the_json_form_keeps_config_jsons_historical_shape_and_reads_back():
    config = EvalConfig(env="twx", split="test", tasks=["coin/1"], max_steps=10, options={"context_tokens": "2500"},
                        model="qwen-1.5b")
    data = config.to_json()
    historical = ["env", "split", "env_options", "policy", "workflow", "options", "model", "max_steps", "demos",
                  "temperature", "concurrency", "tasks", "memory", "frozen"]
    assert list(data)[:len(historical)] == historical
    assert data["options"] == {"context_tokens": "2500"} and data["tasks"] == ["coin/1"]  # as given
    assert EvalConfig.from_json(json.loads(json.dumps(data))) == config
    defaults = EvalConfig.defaults()
    assert all(data[k] == defaults[k] for k in list(data)[len(historical):] if k not in RESUMABLE)
