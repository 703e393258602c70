"""Step verifiers: score a partial or full solution step by step, in [0, 1] per step.

Three kinds share one interface, ``score_steps(ctx, question, steps) -> list[float]``:

* ``TaskVerifier``: the task's programmatic check (``Task.verify_steps``; GSM8K recomputes every equation a
  step writes, Game of 24 checks the final expression).
* ``JudgeVerifier``: the model itself as a judge. It is asked whether the last step of the solution so far
  is correct, and the score is P(Yes) / (P(Yes) + P(No)) read from the first reply token's log-probabilities
  where the backend returns them (llama.cpp, vLLM, OpenAI-compatible servers), not a number parsed from text.
* ``PRMVerifier``: a process reward model served by vLLM's pooling API (``vllm serve
  Qwen/Qwen2.5-Math-PRM-7B``): the solution goes in with a step tag after each step and the server returns
  the probability that each step is correct.

``make_verifier`` builds one from a spec (``task``, ``llm``, ``prm:URL#MODEL``, ``auto``); a verifier that
fails (server down, a malformed reply) hands over to the next one in its chain with a warning, and when none
is left raises ``VerifierError`` with the reasons. ``aggregate`` turns step scores into a solution score.

Example:
    >>> import asyncio
    >>> from agentkit.context import RunContext
    >>> from agentkit.models.base import Choice
    >>> from agentkit.models.testing import ScriptedModel
    >>> from agentkit.workflows.tasks import get_task
    >>> judge = JudgeVerifier(get_task("gsm8k"))
    >>> model = ScriptedModel([Choice("Yes", logprobs=({"Yes": -0.2, "No": -1.8},))])
    >>> scores = asyncio.run(judge.score_steps(RunContext(model), "2 + 3?", ["2 + 3 = 5"], last_only=True))
    >>> round(scores[0], 3)
    0.832
    >>> aggregate([0.9, 0.5, 0.8], "min"), aggregate([0.9, 0.5, 0.8], "last")
    (0.5, 0.8)
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from agentkit.context import RunContext
from agentkit.errors import AgentkitError, UserError
from agentkit.optional import require
from agentkit.templates import render

Task = Any  # a ``agentkit.workflows.tasks.Task`` (not imported: tasks build verifiers, so this module comes first)

__all__ = [
    "AGGREGATIONS", "FallbackVerifier", "JudgeVerifier", "PRMVerifier", "StepVerifier", "TaskVerifier",
    "VerifierError", "aggregate", "make_verifier", "prm_request", "prm_scores", "split_steps", "yes_probability",
]

log = logging.getLogger(__name__)

Aggregation = Literal["last", "min", "prod", "mean"]
AGGREGATIONS: tuple[str, ...] = ("last", "min", "prod", "mean")


class VerifierError(AgentkitError):
    """A verifier could not score a solution (its server is down, its reply is malformed)."""


class StepVerifier(Protocol):
    """Scores the steps of a solution. ``last_only``: only the whole solution's score is wanted (one
    number, for the last step), which some verifiers give more cheaply."""

    name: str

    async def score_steps(self, ctx: RunContext, question: str, steps: Sequence[str], *,
                          last_only: bool = False) -> list[float]: ...


def split_steps(text: str, unit: Literal["paragraph", "line"] = "paragraph") -> list[str]:
    """A solution's steps: its paragraphs (blank-line separated), or its non-empty lines.

    Example:
        >>> split_steps("First, 2 + 2 = 4.\\n\\nSo the answer is 4.")
        ['First, 2 + 2 = 4.', 'So the answer is 4.']
    """
    parts = re.split(r"\n\s*\n", text) if unit == "paragraph" else text.splitlines()
    return [p.strip() for p in parts if p.strip()]


def aggregate(scores: Sequence[float], how: str = "last") -> float:
    """One score for a solution from its step scores: the ``last`` step's, the ``min``, the ``prod``uct or
    the ``mean``; 0 for a solution with no steps."""
    if not scores:
        return 0.0
    if how == "last":
        return float(scores[-1])
    if how == "min":
        return float(min(scores))
    if how == "prod":
        return float(math.prod(scores))
    if how == "mean":
        return float(sum(scores) / len(scores))
    raise UserError(f"Unknown aggregation {how!r}: use one of {', '.join(AGGREGATIONS)}.")


# --- the task's own check ----------------------------------------------------------------------------------


class TaskVerifier:
    """The task's programmatic step check (``Task.verify_steps``)."""

    name = "task"

    def __init__(self, task: Task) -> None:
        if not task.has_verifier():
            raise UserError(f"Task {task.name!r} has no programmatic verifier; use --verifier llm or prm:URL#MODEL.")
        self.task = task

    async def score_steps(self, ctx: RunContext, question: str, steps: Sequence[str], *,
                          last_only: bool = False) -> list[float]:
        scores = self.task.verify_steps(question, list(steps))
        if scores is None or len(scores) != len(steps):
            raise VerifierError(f"task {self.task.name!r} gave no step scores")
        return scores[-1:] if last_only else scores


# --- the model as a judge ----------------------------------------------------------------------------------


class JudgeVerifier:
    """The run's model asked "is the last step correct?" about each prefix of the solution.

    Args:
        task: whose ``judge_step`` prompt is used.
        top: how many alternatives of the reply's first token to read Yes/No from.
    """

    name = "llm"

    def __init__(self, task: Task, *, top: int = 10) -> None:
        self.task = task
        self.top = top
        self._warned = False

    async def score_steps(self, ctx: RunContext, question: str, steps: Sequence[str], *,
                          last_only: bool = False) -> list[float]:
        ends = [len(steps)] if last_only else range(1, len(steps) + 1)
        # one prefix after another: each prompt extends the previous one, so a local model's cache is reused
        return [await self._judge(ctx, question, steps[:end]) for end in ends]

    async def _judge(self, ctx: RunContext, question: str, steps: Sequence[str]) -> float:
        listing = "\n\n".join(f"Step {i}: {s}" for i, s in enumerate(steps, 1))
        messages = render(ctx.template(self.task.prompt("judge_step")), question=question, steps=listing)
        completion = await ctx.generate(messages, max_tokens=1, temperature=0.0, logprobs=self.top)
        choice = completion.choices[0]
        if choice.logprobs:
            return yes_probability(choice.logprobs[0])
        if not self._warned:
            self._warned = True
            log.warning("The model's backend returned no logprobs; the step judge reads its Yes/No reply as 1/0.")
        word = choice.text.strip().lower()
        return 1.0 if word.startswith("yes") else 0.0 if word.startswith("no") else 0.5


def yes_probability(alternatives: dict[str, float]) -> float:
    """P(Yes) / (P(Yes) + P(No)) over a token's alternatives (case and spacing ignored); 0.5 when neither
    is among them.

    Example:
        >>> round(yes_probability({"Yes": math.log(0.6), " yes": math.log(0.1), "No": math.log(0.1)}), 3)
        0.875
    """
    yes = no = 0.0
    for token, logprob in alternatives.items():
        word = token.strip().lower()
        if word == "yes":
            yes += math.exp(logprob)
        elif word == "no":
            no += math.exp(logprob)
    return 0.5 if yes + no == 0 else yes / (yes + no)


# --- a served process reward model -------------------------------------------------------------------------

#: Qwen2.5-Math-PRM's step separator and the system prompt it was trained with.
PRM_STEP_TAG = "<extra_0>"
PRM_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."


def prm_request(model: str, question: str, steps: Sequence[str], *, step_tag: str = PRM_STEP_TAG,
                system: str = PRM_SYSTEM) -> dict[str, Any]:
    """The body of a vLLM ``POST /pooling`` request scoring ``steps``: the chat with the solution as the
    assistant's message, a step tag after every step (Qwen2.5-Math-PRM's format).

    Example:
        >>> body = prm_request("Qwen/Qwen2.5-Math-PRM-7B", "1 + 1?", ["1 + 1 = 2", "The answer is 2."])
        >>> body["messages"][-1]["content"]
        '1 + 1 = 2<extra_0>The answer is 2.<extra_0>'
    """
    return {
        "model": model,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": question},
                     {"role": "assistant", "content": "".join(f"{s}{step_tag}" for s in steps)}],
        "add_generation_prompt": False,
    }


def prm_scores(response: Any, n_steps: int) -> list[float]:
    """The probability each step is correct, from a vLLM pooling response (``data[0].data`` holds one
    ``[p_wrong, p_right]`` row per step tag with the PRM's STEP pooling).

    Raises:
        VerifierError: the response does not have that shape, or has a row count other than ``n_steps``.

    Example:
        >>> prm_scores({"data": [{"index": 0, "data": [[0.1, 0.9], [0.7, 0.3]]}]}, 2)
        [0.9, 0.3]
    """
    try:
        rows = response["data"][0]["data"]
        scores = [float(row[-1]) if isinstance(row, list) else float(row) for row in rows]
    except (KeyError, IndexError, TypeError, ValueError):
        raise VerifierError(f"the PRM's reply is not a pooling response: {str(response)[:200]}") from None
    if len(scores) != n_steps:
        raise VerifierError(f"the PRM returned {len(scores)} scores for {n_steps} steps; serve it with STEP pooling "
                            "(vLLM's default for Qwen2.5-Math-PRM) so there is one per step tag")
    if not all(0.0 <= s <= 1.0 for s in scores):
        raise VerifierError(f"the PRM's scores are not probabilities: {scores[:5]}")
    return scores


class PRMVerifier:
    """A process reward model behind vLLM's pooling API.

    Args:
        url: the server's root (``http://127.0.0.1:8000``; a trailing ``/v1`` is dropped).
        model: the served model's name.
        timeout: seconds per request.
        client: an ``httpx.AsyncClient`` to use (tests pass one with a mock transport).
    """

    name = "prm"

    def __init__(self, url: str, model: str = "Qwen/Qwen2.5-Math-PRM-7B", *, timeout: float = 60.0,
                 client: Any = None, step_tag: str = PRM_STEP_TAG) -> None:
        if not url.startswith(("http://", "https://")):
            raise UserError(f"A PRM verifier needs an http(s) URL: prm:http://HOST:PORT#MODEL, not prm:{url}.")
        self.url = re.sub(r"/v1/?$", "", url.rstrip("/"))
        self.model, self.timeout, self.step_tag = model, timeout, step_tag
        self._client = client

    async def score_steps(self, ctx: RunContext, question: str, steps: Sequence[str], *,
                          last_only: bool = False) -> list[float]:
        httpx = require("httpx", what="The PRM verifier", needs="httpx", extra="agentkit[serving]")
        body = prm_request(self.model, question, steps, step_tag=self.step_tag)
        try:
            if self._client is not None:
                response = await self._client.post(f"{self.url}/pooling", json=body, timeout=self.timeout)
            else:
                async with httpx.AsyncClient() as client:
                    response = await client.post(f"{self.url}/pooling", json=body, timeout=self.timeout)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as e:
            raise VerifierError(f"the PRM server at {self.url} failed: {type(e).__name__}: {str(e)[:200]}") from None
        scores = prm_scores(data, len(steps))
        return scores[-1:] if last_only else scores


# --- chains and specs --------------------------------------------------------------------------------------


class FallbackVerifier:
    """Verifiers tried in order: one that fails is reported once and skipped from then on."""

    def __init__(self, verifiers: Sequence[StepVerifier]) -> None:
        self.verifiers = list(verifiers)
        self.name = self.verifiers[0].name
        self.failed: dict[str, str] = {}

    async def score_steps(self, ctx: RunContext, question: str, steps: Sequence[str], *,
                          last_only: bool = False) -> list[float]:
        for verifier in self.verifiers:
            if verifier.name in self.failed:
                continue
            try:
                return await verifier.score_steps(ctx, question, steps, last_only=last_only)
            except VerifierError as e:
                self.failed[verifier.name] = str(e)
                rest = [v.name for v in self.verifiers if v.name not in self.failed]
                log.warning("Verifier %s failed (%s); %s", verifier.name, e,
                            f"using {rest[0]} instead" if rest else "no verifier is left")
        raise VerifierError("no verifier could score the solution: "
                            + "; ".join(f"{k}: {v}" for k, v in self.failed.items()))


def make_verifier(spec: str | StepVerifier, task: Task) -> StepVerifier:
    """A step verifier from a spec: ``task``, ``llm``, ``prm:URL#MODEL`` (falls back to ``llm``), ``auto``
    (``task`` where the task has a check, else ``llm``) or a ``StepVerifier`` (passes through).

    Example:
        >>> from agentkit.workflows.tasks import get_task
        >>> make_verifier("prm:http://127.0.0.1:8000#Qwen/Qwen2.5-Math-PRM-7B", get_task("gsm8k")).verifiers[0].model
        'Qwen/Qwen2.5-Math-PRM-7B'
    """
    if not isinstance(spec, str):
        return spec
    if spec == "task":
        return TaskVerifier(task)
    if spec == "llm":
        return JudgeVerifier(task)
    if spec == "auto":
        return TaskVerifier(task) if task.has_verifier() else JudgeVerifier(task)
    if spec.startswith("prm:"):
        url, _, model = spec.removeprefix("prm:").partition("#")
        prm = PRMVerifier(url, model) if model else PRMVerifier(url)
        return FallbackVerifier([prm, JudgeVerifier(task)])
    raise UserError(f"Unknown verifier {spec!r}: use task, llm, auto or prm:URL#MODEL.")
