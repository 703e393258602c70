"""Step verifiers: the task's check, the model as a judge from its P(Yes), a served PRM, and the fallbacks."""

from __future__ import annotations

import asyncio
import json
import logging
import math

import httpx
import pytest

from agentkit.context import RunContext
from agentkit.errors import UserError
from agentkit.limits import Limits
from agentkit.models.base import Choice
from agentkit.models.testing import ScriptedModel
from agentkit.runtime import run
from agentkit.workflows import best_of_n, mcts, tot
from agentkit.workflows.tasks import get_task
from agentkit.workflows.verifiers import (
    FallbackVerifier,
    JudgeVerifier,
    PRMVerifier,
    TaskVerifier,
    VerifierError,
    aggregate,
    make_verifier,
    prm_request,
)

GSM8K = get_task("gsm8k")
STEPS = ["2 + 3 = 5 apples.", "5 * 2 = 11 in all.", "The answer is \\boxed{11}."]


def _scores(verifier, steps=STEPS, model=None, **kw):
    ctx = RunContext(model or ScriptedModel())
    return asyncio.run(verifier.score_steps(ctx, "q", steps, **kw))


def _yes(p: float) -> Choice:
    return Choice("Yes" if p >= 0.5 else "No", logprobs=({"Yes": math.log(p), "No": math.log(1 - p)},))


def test_the_task_verifier_scores_each_step_and_a_task_without_one_is_refused():
    assert _scores(TaskVerifier(GSM8K)) == [1.0, 0.0, 1.0]
    assert _scores(TaskVerifier(GSM8K), last_only=True) == [1.0]
    with pytest.raises(UserError, match="no programmatic verifier"):
        make_verifier("task", get_task("qa"))


def test_the_judge_asks_about_each_prefix_and_reads_the_probability_of_yes():
    model = ScriptedModel([_yes(0.9), _yes(0.2), _yes(0.6)])
    scores = _scores(JudgeVerifier(GSM8K), model=model)
    assert scores == pytest.approx([0.9, 0.2, 0.6])
    last = model.requests[-1]
    assert last.logprobs == 10 and last.max_tokens == 1
    assert "Step 3: The answer is" in last.messages[-1]["content"] and "Step 4" not in last.messages[-1]["content"]
    assert "Step 2: 5 * 2 = 11" in model.requests[1].messages[-1]["content"]


def test_the_judge_is_neutral_when_neither_yes_nor_no_is_among_the_likely_tokens():
    model = ScriptedModel([Choice("Maybe", logprobs=({"Maybe": -0.1, "Perhaps": -2.0},))])
    assert _scores(JudgeVerifier(GSM8K), model=model, last_only=True) == [0.5]


def test_aggregations():
    assert aggregate([0.9, 0.5, 0.8], "prod") == pytest.approx(0.36)
    assert aggregate([0.9, 0.5, 0.8], "mean") == pytest.approx(0.7333, abs=1e-4)
    assert aggregate([], "min") == 0.0
    with pytest.raises(UserError, match="Unknown aggregation 'max'"):
        aggregate([1.0], "max")


# --- the served PRM: the request mapping and the reply, without a GPU ------------------------------------


def _prm(handler) -> PRMVerifier:
    return PRMVerifier("http://prm.test:8000/v1", "Qwen/Qwen2.5-Math-PRM-7B",
                       client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))


def test_the_prm_request_is_vllms_pooling_call_with_a_step_tag_after_each_step():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"], seen["body"] = str(request.url), json.loads(request.content)
        return httpx.Response(200, json={"object": "list", "data": [
            {"index": 0, "object": "pooling", "data": [[0.05, 0.95], [0.8, 0.2], [0.4, 0.6]]}]})

    assert _scores(_prm(handler)) == [0.95, 0.2, 0.6]
    assert seen["url"] == "http://prm.test:8000/pooling"
    body = seen["body"]
    assert body["model"] == "Qwen/Qwen2.5-Math-PRM-7B" and body["add_generation_prompt"] is False
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant"]
    assert body["messages"][0]["content"].startswith("Please reason step by step")
    assert body["messages"][2]["content"] == "<extra_0>".join(STEPS) + "<extra_0>"
    assert body == prm_request("Qwen/Qwen2.5-Math-PRM-7B", "q", STEPS)


@pytest.mark.parametrize(("reply", "why"), [
    ({"data": [{"data": [[0.1, 0.9]]}]}, "1 scores for 3 steps"),
    ({"error": "model not found"}, "not a pooling response"),
    ({"data": [{"data": [[3.0, 7.0], [1, 2], [1, 2]]}]}, "not probabilities"),
])
def test_a_malformed_prm_reply_is_a_verifier_error_that_says_why(reply, why):
    with pytest.raises(VerifierError, match=why):
        _scores(_prm(lambda request: httpx.Response(200, json=reply)))


def test_a_prm_that_is_down_hands_over_to_the_judge_with_a_warning(caplog: pytest.LogCaptureFixture):
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    chain = FallbackVerifier([_prm(down), JudgeVerifier(GSM8K)])
    model = ScriptedModel([_yes(0.7), _yes(0.7)])
    with caplog.at_level(logging.WARNING):
        assert _scores(chain, model=model, last_only=True) == pytest.approx([0.7])
        assert _scores(chain, model=model, last_only=True) == pytest.approx([0.7])
    assert caplog.text.count("Verifier prm failed") == 1 and "using llm instead" in caplog.text


def test_prm_specs_name_the_server_and_model():
    chain = make_verifier("prm:http://127.0.0.1:8000#my-prm", GSM8K)
    assert isinstance(chain, FallbackVerifier) and chain.verifiers[0].model == "my-prm"
    assert chain.verifiers[0].url == "http://127.0.0.1:8000"
    with pytest.raises(UserError, match="prm:http://HOST:PORT#MODEL"):
        make_verifier("prm:localhost:8000", GSM8K)
    with pytest.raises(UserError, match="Unknown verifier 'oracle'"):
        make_verifier("oracle", GSM8K)


# --- verifier-guided search --------------------------------------------------------------------------------


def test_best_of_n_with_the_task_check_prefers_the_solution_whose_arithmetic_holds():
    texts = iter(["3 * 4 = 13 eggs.\n\nThe answer is \\boxed{13}.", "3 * 4 = 12 eggs.\n\nThe answer is \\boxed{12}."])
    graph = best_of_n.build(task="gsm8k", n=2, verifier="task", aggregate="min")
    state = asyncio.run(run(graph, {"question": "3 boxes of 4 eggs?"}, RunContext(ScriptedModel(lambda r: next(texts)))))
    assert state["answer"] == "12" and state["score"] == 1.0
    assert [c["score"] for c in state["candidates"]] == [0.0, 1.0]


def test_weighted_best_of_n_sums_the_scores_of_each_answer():
    texts = iter(["The answer is \\boxed{7}.", "The answer is \\boxed{9}.", "The answer is \\boxed{9}."])
    judge = {"7": 0.9, "9": 0.6}

    def respond(request):
        if "You check math solutions" in request.messages[0]["content"]:
            return _yes(judge[request.messages[-1]["content"].split("boxed{")[1][0]])
        return next(texts)

    plain = asyncio.run(run(best_of_n.build(task="gsm8k", n=3, verifier="llm"), {"question": "q"},
                            RunContext(ScriptedModel(respond))))
    texts = iter(["The answer is \\boxed{7}.", "The answer is \\boxed{9}.", "The answer is \\boxed{9}."])
    weighted = asyncio.run(run(best_of_n.build(task="gsm8k", n=3, verifier="llm", weighted=True), {"question": "q"},
                               RunContext(ScriptedModel(respond))))
    assert plain["answer"] == "7" and weighted["answer"] == "9" and weighted["score"] == pytest.approx(1.2)


def test_when_no_verifier_can_score_the_run_stops_with_the_reason():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    graph = best_of_n.build(task="gsm8k", n=2, verifier=FallbackVerifier([_prm(down)]))
    state = asyncio.run(run(graph, {"question": "q"}, RunContext(ScriptedModel(["The answer is \\boxed{1}."] * 2))))
    assert state["stop_reason"].startswith("verifier failed: no verifier could score")
    assert "connection refused" in state["error"]
    assert state["answer"] is None


def test_verifier_guided_beam_continues_the_solution_and_keeps_the_steps_that_check_out():
    first = iter(["3 * 4 = 13 eggs.", "3 * 4 = 12 eggs."])

    def respond(request):
        last = request.messages[-1]
        assert last["role"] == "assistant" and request.stop == ("\n\n",)
        if not last["content"]:
            return next(first)
        return "The answer is \\boxed{12}." if "= 12" in last["content"] else "The answer is \\boxed{13}."

    model = ScriptedModel(respond)
    graph = tot.build(task="gsm8k", algo="beam", width=1, k=2, verifier="task", aggregate="min")
    state = asyncio.run(run(graph, {"question": "3 boxes of 4 eggs?"}, RunContext(model)))
    assert state["answer"] == "12"
    prefixes = [r.messages[-1]["content"] for r in model.requests]
    assert prefixes == ["", "3 * 4 = 12 eggs.\n\n"]  # only the step that checks out was continued


def test_a_search_that_stops_before_any_path_is_finished_completes_its_best_path_greedily():
    def respond(request):
        last = request.messages[-1]
        if request.stop == ("\n\n",):  # a step of the search: never an answer
            return "3 * 4 = 12 eggs." if not last["content"] else "Then he has them all."
        return "So the answer is \\boxed{12}."  # the completion: no stop, greedy

    model = ScriptedModel(respond)
    graph = mcts.build(task="gsm8k", iterations=1, k=2, verifier="task", reflect=False)
    state = asyncio.run(run(graph, {"question": "3 boxes of 4 eggs?"}, RunContext(model)))
    assert state["answer"] == "12" and state["completed_from"] is not None
    last = model.requests[-1]
    assert last.stop == () and last.temperature == 0.0 and last.messages[-1]["content"].startswith("3 * 4 = 12 eggs.")
    spent = RunContext(ScriptedModel(respond), limits=Limits(calls=1))
    stopped = asyncio.run(run(mcts.build(task="gsm8k", iterations=3, k=2, verifier="task"), {"question": "q"}, spent))
    assert stopped["answer"] is None and "call limit" in stopped["error"]  # no budget left to complete it
