"""Operators make valid designs within bounds, never touch locked sections, and refuse proposer rewrites that
copy the examples."""

import asyncio
import random
from pathlib import Path

import pytest

from agentkit.experiments import operators as ops
from agentkit.experiments.designs import BOUNDS, Design, DesignError, load_design
from agentkit.models.testing import ScriptedModel

EXAMPLES = Path(__file__).parents[3] / "examples" / "designs"
SEED = load_design(EXAMPLES / "gsm8k-cot.yaml")
ACTING = load_design(EXAMPLES / "twx-react-critic.yaml")
FAILURES = [ops.Failure("Tom has 17 apples and gives away 5 of them to his sister Ann", "17 - 5 = 11. \\boxed{11}",
                        "wrong (the reference is 12)")]


def test_parameter_moves_stay_within_bounds_and_always_change_the_design():
    sc = Design.from_data({"schema": 1, "workflow": {"kind": "sc", "options": {"n": 16}}})
    for i in range(200):
        child = ops.parameter(sc, random.Random(i))
        low, high = BOUNDS["sc"]["n"]
        assert low <= child.data["workflow"]["options"].get("n", 16) <= high
        assert child.id != sc.id and child.parents == [sc.id]


def test_structure_keeps_acting_designs_acting_and_reasoning_ones_reasoning():
    for i in range(100):
        acting = ops.structure(ACTING, random.Random(i))
        assert acting.kind == "react" and acting.id != ACTING.id
        reasoning = ops.structure(SEED, random.Random(i))  # a move that fits is always found: never an error
        assert not reasoning.acting and reasoning.id != SEED.id
        assert "debate" not in reasoning.data["roles"] or reasoning.kind == "cot"
        if reasoning.kind == "cot":  # the seed is cot, which takes no verifier: none was offered
            assert reasoning.data["verifier"]["kind"] == "none"


def test_structure_switches_react_modules_and_never_leaves_a_combination_react_refuses():
    from agentkit.workflows import react

    seen, design = set(), ACTING
    for i in range(300):
        design = ops.structure(design, random.Random(i))  # a random walk through the modules
        options = design.data["workflow"]["options"]
        seen.update(f"{k}={v}" for k, v in options.items() if k in ops._ACTING_MODULES)
        if options.get("thought") == "notes":
            assert options.get("choose") == "score" and options.get("track_state")
        assert "lookahead" not in options or options.get("choose") == "score"
        react.build(**{k: v for k, v in options.items() if k in ops._ACTING_MODULES})  # builds: never refused
    assert {"choose=score", "track_state=True", "trials=3", "lookahead=3", "thought=notes"} <= seen


def test_section_picks_from_the_library_and_never_replaces_a_locked_section():
    texts = set()
    for i in range(40):
        child = ops.section(SEED, random.Random(i))
        system = child.data["prompts"]["gsm8k_cot"]["system"]
        assert system[1] == SEED.data["prompts"]["gsm8k_cot"]["system"][1]  # the locked output format
        texts.add(system[0]["text"])
    assert len(texts) == len(ops.section_library()["gsm8k_cot"]["system"]["method"]) - 1
    with pytest.raises(ops.OperatorError, match="no unlocked section has alternatives"):
        ops.section(Design.from_data({"schema": 1, "workflow": {"kind": "cot"}}), random.Random(0))


def test_rules_become_a_section_before_the_output_format():
    child = ops.rules(SEED, ["Write units.", "Check {every} step."])
    ids = [s["id"] for s in child.data["prompts"]["gsm8k_cot"]["system"]]
    assert ids == ["method", "rules", "format"]
    assert "- Check {{every}} step." in child.data["prompts"]["gsm8k_cot"]["system"][1]["text"]
    with pytest.raises(ops.OperatorError, match="no insights"):
        ops.rules(SEED, [])


@pytest.mark.parametrize(("reply", "refused"), [
    ("Write out every subtraction and check it against what the question gives.", None),
    ("Tom has 17 apples and gives away 5 of them, so compute carefully.", "repeats"),
    ("Remember that the answer may be 12.", "number 12"),
    ("x" * 700, "not a usable section"),
    ("Here is the new section:\n\n**Write out every subtraction.**\n\nThis helps the agent.", None),
    ("", "not a usable section"),
])
def test_a_reflective_rewrite_is_kept_only_when_it_does_not_copy_the_examples(reply, refused):
    proposer = ScriptedModel([reply])
    run = ops.reflect(SEED, random.Random(0), proposer, FAILURES)
    if refused is None:
        child = asyncio.run(run)
        assert child.data["prompts"]["gsm8k_cot"]["system"][0]["text"] in (reply, "Write out every subtraction.")
        assert "Tom has 17 apples" in proposer.requests[0].messages[-1]["content"]  # the proposer saw the failure
        shown = proposer.requests[0].messages[-1]["content"]
        assert ">>> Please reason step by step, <<<" in shown
        assert "within \\boxed{}." in shown and "{{" not in shown  # the prompt as the agent reads it
    else:
        with pytest.raises(ops.OperatorError, match=refused):
            asyncio.run(run)


def test_a_rewrite_with_braces_is_escaped_and_one_without_sections_is_refused():
    child = asyncio.run(ops.reflect(SEED, random.Random(0), ScriptedModel(["Use {steps} wisely."]), FAILURES))
    assert child.data["prompts"]["gsm8k_cot"]["system"][0]["text"] == "Use {{steps}} wisely."
    with pytest.raises(ops.OperatorError, match="no unlocked prompt section"):
        asyncio.run(ops.reflect(Design.from_data({"schema": 1, "workflow": {"kind": "cot"}}), random.Random(0),
                                ScriptedModel(["x"]), FAILURES))


def test_crossover_takes_each_section_from_one_parent():
    other = Design.from_data({"schema": 1, "workflow": {"kind": "sc", "options": {"n": 4}},
                              "sampling": {"temperature": 0.7}})
    seen = set()
    for i in range(30):
        try:
            child = ops.crossover(SEED, other, random.Random(i))
        except (ops.OperatorError, DesignError):
            continue
        assert child.parents == [SEED.id, other.id]
        for key in ("workflow", "sampling", "prompts"):
            assert child.data[key] in (SEED.data[key], other.data[key])
        seen.add(child.kind)
    assert seen == {"cot", "sc"}
