"""The gsm8k task: reading the official files, answers as exact numbers, the rule that found them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from agentkit.errors import UserError
from agentkit.workflows.tasks import get_task
from agentkit.workflows.tasks.gsm8k import Gsm8kTask, normalize_number

ROWS = [
    {"question": "Ann has 3 apples and buys 4. How many?", "answer": "She has 3+4 = <<3+4=7>>7.\n#### 7"},
    {"question": "A pen costs $1,200. Two cost?", "answer": "2 * 1200 = <<2*1200=2400>>2400\n#### 2,400"},
    {"question": "Half of 5?", "answer": "5 / 2 = <<5/2=2.5>>2.5\n#### 2.5"},
]


@pytest.fixture()
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "gsm8k"
    folder.mkdir()
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    monkeypatch.setenv("GSM8K_DATA", str(folder))
    return folder


def test_problems_come_from_the_official_jsonl_with_the_number_after_the_hashes(data: Path):
    problems = Gsm8kTask().problems()
    assert [p.id for p in problems] == ["train-0000", "train-0001", "train-0002"]
    assert [p.reference for p in problems] == ["7", "2400", "2.5"]
    assert get_task("gsm8k").find("1").question.startswith("A pen")
    assert get_task("gsm8k").find("train-0009") is None


def test_a_bad_line_is_reported_with_its_number_and_skipped(data: Path, caplog: pytest.LogCaptureFixture):
    (data / "train.jsonl").write_text(json.dumps(ROWS[0]) + "\n{not json\n" + json.dumps({"question": "q"}) + "\n"
                                      + json.dumps(ROWS[1]) + "\n")
    with caplog.at_level(logging.WARNING):
        problems = Gsm8kTask().problems()
    assert [p.reference for p in problems] == ["7", "2400"]
    assert "line 2 skipped" in caplog.text and "line 3 skipped" in caplog.text


def test_a_missing_folder_or_split_says_which_files_are_expected_and_where_to_get_them(data: Path, tmp_path: Path):
    with pytest.raises(UserError, match="has no test.jsonl .*grade-school-math"):
        Gsm8kTask(split="test").problems()
    with pytest.raises(UserError, match="does not exist.*train.jsonl and/or test.jsonl"):
        Gsm8kTask(data_dir=str(tmp_path / "nowhere")).problems()
    with pytest.raises(UserError, match="no split 'dev'"):
        Gsm8kTask(split="dev")


def test_without_a_folder_offline_the_download_fails_with_a_clear_message(monkeypatch, tmp_path: Path):
    import urllib.error

    monkeypatch.delenv("GSM8K_DATA", raising=False)
    monkeypatch.setenv("AGENTKIT_CACHE", str(tmp_path))

    def offline(*_a, **_k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(UserError, match="could not be fetched.*GSM8K_DATA"):
        Gsm8kTask().problems()


@pytest.mark.parametrize(("text", "answer", "rule"), [
    ("so 3 * 4 = 12.\n\\[\\boxed{12}\\] apples", "12", "boxed"),
    ("Total \\(\\boxed{\\$1,200.00}\\)", "1200", "boxed"),
    ("She pays 18 dollars.\n#### 18", "18", "####"),
    ("Adding up, the answer is $36.", "36", "answer is"),
    ("**Answer:** 2.50 dollars", "5/2", "answer:"),
    ("5 + 6 = 11 and then 11 * 2 = 22 marbles", "22", "last number"),
    ("I cannot tell.", None, "no number"),
    ("\\boxed{\\frac{3}{4}}", "3/4", "boxed"),
])
def test_extraction_understands_each_format_and_says_which_rule_fired(text, answer, rule):
    found = Gsm8kTask.extraction(text)
    assert (found.answer, found.rule) == (answer, rule)


def test_answers_compare_as_exact_numbers(data: Path):
    task, problem = Gsm8kTask(), Gsm8kTask().problems()[1]
    assert task.score(problem, "$2,400.0") and task.score(problem, "2400 dollars")
    assert not task.score(problem, "2401") and not task.score(problem, None)
    assert normalize_number("2.50") == normalize_number("5/2") == "5/2"


def test_only_explicit_answers_end_a_search_path():
    task = Gsm8kTask()
    assert task.stated_answer("So 4 + 5 = 9 apples.") is None
    assert task.stated_answer("The answer is \\boxed{9}.") == "9"


def test_demonstrations_come_from_the_training_split_and_come_before_the_question(data: Path):
    task = get_task("gsm8k?shots=2")
    chat = task.messages([{"role": "system", "content": "s"}, {"role": "user", "content": "Q?"}])
    assert [m["role"] for m in chat] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert chat[2]["content"].endswith("\\boxed{7}.") and "<<" not in chat[2]["content"]
    assert chat[-1]["content"] == "Q?"


def test_the_sample_is_seeded_and_never_draws_the_development_problems(data: Path):
    task = Gsm8kTask()
    task.dev_size = 1
    assert task.sample(2, seed=3) == task.sample(2, seed=3)
    assert {p.id for p in task.sample(2)} == {"train-0001", "train-0002"}
    with pytest.raises(UserError, match="2 problems to sample from, not 3"):
        task.sample(3)


def test_the_step_check_recomputes_every_equation():
    task = Gsm8kTask()
    assert task.verify_steps("q", ["3 \\times 4 = 12 eggs", "She has 12 + 5 = 18", "So she is happy."]) == [1.0, 0.0, 1.0]


def test_task_options_are_checked():
    with pytest.raises(UserError, match="has no option color. It takes: split, data_dir, shots, seed"):
        get_task("gsm8k?color=red")
    with pytest.raises(UserError, match="shots=.lots. should be a whole number"):
        get_task("gsm8k?shots=lots")


def test_a_reply_without_a_number_is_a_wrong_answer_with_its_reason_and_the_rule_is_recorded():
    import asyncio

    from agentkit.context import RunContext
    from agentkit.models.testing import ScriptedModel
    from agentkit.runtime import run
    from agentkit.workflows import cot

    graph = cot.build(task="gsm8k")
    state = asyncio.run(run(graph, {"question": "q"}, RunContext(ScriptedModel(["I do not know."]))))
    assert state["answer"] is None and state["error"] == "the reply has no number in it"
    assert state["extracted_by"] == "no number"
    state = asyncio.run(run(graph, {"question": "q"}, RunContext(ScriptedModel(["So 4 + 4 = 8 apples."]))))
    assert (state["answer"], state["extracted_by"]) == ("8", "last number")
