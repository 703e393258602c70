"""Reusable graph nodes. Each takes the state and LangGraph's ``Runtime[RunContext]`` and returns a partial
state update; model calls go through ``runtime.context.model``, events through ``runtime.stream_writer``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from langgraph.runtime import Runtime

from agentkit.context import RunContext
from agentkit.errors import UserError
from agentkit.events import Answer, Expand, Prune, Score, Stopped, Thought, Token
from agentkit.templates import Template, render
from agentkit.types import Message
from agentkit.workflows.answers import find_answer, parse_score
from agentkit.workflows import verifiers as v
from agentkit.workflows.guard import StopReason, first_reason, guard

if TYPE_CHECKING:
    from agentkit.workflows.tasks.base import Task

__all__ = [
    "Candidate", "StopReason", "best", "extract_answer", "find_answer", "first_reason", "graph_entry", "guard",
    "make_generate", "make_sample", "make_score", "make_vote", "make_weighted_vote", "parse_score", "select_best",
    "task_messages", "thought_label", "vote", "weighted_vote",
]


def make_generate(prompt: str | Template, *, node: str = "generate", field: str = "reasoning",
                  prepare: Callable[[list[Message]], list[Message]] | None = None):
    """A node that fills ``prompt`` (a template's name, or a template) from the state, streams the model's
    reply as ``Token`` events, and stores the text in ``state[field]``. A run's prompt override for that name
    wins; ``prepare`` edits the chat before it is sent (a task's few-shot examples)."""

    @guard
    async def generate(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
        values = {k: v for k, v in state.items() if isinstance(v, str)}
        messages = render(runtime.context.template(prompt), **values)
        if prepare is not None:
            messages = prepare(messages)
        text = await runtime.context.stream_text(messages, lambda piece: runtime.stream_writer(Token(node, piece)))
        runtime.stream_writer(Thought(node, text.strip()))
        return {field: text.strip()}

    generate.__name__ = node
    return generate


async def extract_answer(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Pull the final answer out of ``state["reasoning"]``; a missing one is recorded, not raised."""
    answer = find_answer(state.get("reasoning", ""))
    reason = "" if answer else "the model gave no 'Answer:' line"
    runtime.stream_writer(Answer(answer, reason))
    return {"answer": answer, "error": reason or None}


# --- candidate answers: sample, score, vote, select -------------------------------------------------------


class Candidate(TypedDict):
    """One candidate solution: its text, the answer found in it, and its score once scored. In a graph of
    thoughts it also has an ``id`` and the ids it was made from (``parents``; 0 is the question)."""

    text: str
    answer: str | None
    score: NotRequired[float]
    feedback: NotRequired[str]
    origin: NotRequired[str]
    extracted_by: NotRequired[str]
    id: NotRequired[int]
    parents: NotRequired[list[int]]


def thought_label(candidate: Candidate) -> str:
    """A candidate on one line, for events: its answer, else the end of its text."""
    return candidate["answer"] or "… " + " ".join(candidate["text"].split())[-60:]


def graph_entry(candidate: Candidate) -> dict[str, Any]:
    """A numbered candidate as a node of the graph of thoughts (``state["thoughts"]``)."""
    return {"id": candidate["id"], "parents": list(candidate["parents"]), "origin": candidate.get("origin", ""),
            "answer": candidate["answer"]}


def task_messages(task: Task, role: str, *, ctx: RunContext | None = None, lessons: list[str] | None = None,
                  recalled: str | None = None, **values: str) -> list[Message]:
    """Render the task's template for ``role`` (``ctx``'s override of it, when the run has one); what the
    experience memory recalled and ``lessons`` (this run's reflections) are appended to the system message."""
    prompt = task.prompt(role)
    messages = render(ctx.template(prompt) if ctx is not None else prompt, **values)
    if role == "cot":
        messages = task.messages(messages)
    note = f"\n\nFrom your memory of earlier tasks:\n{recalled}" if recalled else ""
    if lessons:
        note += "\n\nLessons from your earlier failed attempts:\n" + "\n".join(f"- {x}" for x in lessons)
    if note:
        messages[0] = {"role": messages[0]["role"], "content": messages[0]["content"] + note}
    return messages


def make_sample(task: Task, *, n: int, temperature: float = 0.7, role: str = "cot", node: str = "sample",
                numbered: bool = False):
    """A node sampling ``n`` solutions in one call (the backend's native ``n`` where it has one) into
    ``state["candidates"]``; a sample without an answer is kept, with ``answer=None``.

    ``numbered``: the samples are the first thoughts of a graph (ids 1..n, grown from the question, id 0):
    each gets an ``Expand`` event and an entry in ``state["thoughts"]``."""

    @guard
    async def sample(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
        messages = task_messages(task, role, ctx=runtime.context, question=state["question"])
        completion = await runtime.context.generate(messages, n=n, temperature=temperature)
        candidates: list[Candidate] = []
        for text in completion.texts:
            runtime.stream_writer(Thought(node, text.strip()))
            answer = task.extract(text)
            if answer is None:
                runtime.stream_writer(Prune(node, text.strip()[-80:], f"no answer: {task.no_answer}"))
            candidates.append({"text": text.strip(), "answer": answer, "origin": node,
                               "extracted_by": task.extraction_rule(text)})
        if not numbered:
            return {"candidates": candidates}
        runtime.stream_writer(Expand(node, id=0, parent=None, text=state["question"]))
        for i, c in enumerate(candidates, 1):
            c["id"], c["parents"] = i, [0]
            runtime.stream_writer(Expand(node, id=i, parent=0, text=thought_label(c)))
        return {"candidates": candidates, "thoughts": [graph_entry(c) for c in candidates]}

    sample.__name__ = node
    return sample


def vote(task: Task, candidates: list[Candidate]) -> tuple[str | None, dict[str, int], str]:
    """Majority vote over the candidates' answers, compared in the task's normal form.

    Ties go to the answer that appeared first; samples without an answer do not vote.

    Example:
        >>> from agentkit.workflows.tasks import Task
        >>> c = [{"text": "", "answer": a} for a in ["8", "$8.00", "9", None]]
        >>> vote(Task(), c)
        ('8', {'8': 2, '9': 1}, '')
    """
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    for c in candidates:
        if c["answer"] is None:
            continue
        key = task.normalize(c["answer"])
        counts[key] += 1
        first.setdefault(key, c["answer"])
    if not counts:
        return None, {}, f"none of the {len(candidates)} samples gave an answer"
    top = max(counts.values())
    winner = next(key for key in first if counts[key] == top)  # insertion order: first seen wins a tie
    return first[winner], dict(counts), ""


def weighted_vote(task: Task, candidates: list[Candidate]) -> tuple[str | None, dict[str, float]]:
    """The answer whose candidates' scores sum highest (ties: first seen), and each answer's total.

    Example:
        >>> from agentkit.workflows.tasks import Task
        >>> c = [{"text": "", "answer": "8", "score": 0.4}, {"text": "", "answer": "9", "score": 0.7},
        ...      {"text": "", "answer": "8.0", "score": 0.5}]
        >>> weighted_vote(Task(), c)
        ('8', {'8': 0.9, '9': 0.7})
    """
    totals: dict[str, float] = {}
    first: dict[str, str] = {}
    for c in candidates:
        if c["answer"] is None:
            continue
        key = task.normalize(c["answer"])
        totals[key] = totals.get(key, 0.0) + c.get("score", 0.0)
        first.setdefault(key, c["answer"])
    if not totals:
        return None, {}
    top = max(totals.values())
    return first[next(k for k in first if totals[k] == top)], totals


def make_weighted_vote(task: Task, *, node: str = "select"):
    """A node electing ``state["answer"]`` by score-weighted majority over the scored candidates."""

    async def select(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
        candidates = state.get("candidates", [])
        if (state.get("stop_reason") or "").startswith(VERIFIER_FAILED):
            candidates = []
        answer, totals = weighted_vote(task, candidates)
        for key, total in totals.items():
            runtime.stream_writer(Score(node, key, total / max(sum(totals.values()), 1e-9), f"summed score {total:.2f}"))
        if answer is None:
            reason = state.get("stop_reason") or f"none of {len(candidates)} candidates gave an answer"
            runtime.stream_writer(Answer(None, reason))
            return {"answer": None, "error": reason}
        runtime.stream_writer(Answer(answer, ""))
        return {"answer": answer, "score": totals[task.normalize(answer)], "error": None}

    select.__name__ = node
    return select


def make_vote(task: Task, *, node: str = "vote"):
    """A node electing ``state["answer"]`` by majority over ``state["candidates"]``."""

    async def vote_node(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
        answer, counts, reason = vote(task, state.get("candidates", []))
        for key, count in counts.items():
            runtime.stream_writer(Score(node, key, count / max(sum(counts.values()), 1), f"{count} votes"))
        runtime.stream_writer(Answer(answer, reason))
        return {"answer": answer, "votes": counts, "error": reason or None}

    vote_node.__name__ = node
    return vote_node


Verifier = Callable[[str, str], "tuple[float, str] | float | bool | None"]
#: how ``stop_reason`` starts when no verifier could score; the selecting nodes then elect no answer
VERIFIER_FAILED = "verifier failed"


def make_score(task: Task, *, verifier: Any = "auto", aggregate: str = "last", node: str = "score"):
    """A node scoring each unscored candidate in [0, 1].

    ``verifier``: a step verifier spec (``task``: the task's programmatic check; ``llm``: the model judging
    each step, from its P(Yes); ``prm:URL#MODEL``: a served process reward model; ``auto``: the task's check
    when it has one, else the judge; see ``agentkit.workflows.verifiers``), a ``StepVerifier``, or a
    function ``(question, answer) -> score | (score, feedback)``. Step scores become one score with
    ``aggregate`` (``last``, ``min``, ``prod``, ``mean``). A candidate with no answer scores 0; when no
    verifier can score, the run stops with the reason.
    """
    step_verifier = None if callable(verifier) and not hasattr(verifier, "score_steps") else \
        v.make_verifier(verifier, task)
    if aggregate not in v.AGGREGATIONS:
        raise UserError(f"Unknown aggregation {aggregate!r}: use one of {', '.join(v.AGGREGATIONS)}.")

    async def score_one(ctx: RunContext, question: str, c: Candidate) -> tuple[float, str]:
        if c["answer"] is None:
            return 0.0, "no answer to check"
        if step_verifier is None:
            return _as_score(verifier(question, c["answer"]))
        if isinstance(step_verifier, v.TaskVerifier) and (checked := task.verify(question, c["answer"])):
            return checked  # the task checks whole answers: its own score and why
        steps = v.split_steps(c["text"])
        scores = await step_verifier.score_steps(ctx, question, steps, last_only=aggregate == "last")
        value = v.aggregate(scores, aggregate)
        shown = ", ".join(f"{s:.2f}" for s in scores[-6:])
        return value, f"{step_verifier.name} {aggregate} of {len(scores)} step score(s): {shown}"

    @guard
    async def score(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
        candidates = [dict(c) for c in state.get("candidates", [])]
        todo = [c for c in candidates if "score" not in c]
        try:
            results = await asyncio.gather(*(score_one(runtime.context, state["question"], c) for c in todo))  # type: ignore[arg-type]
        except v.VerifierError as e:
            reason = f"{VERIFIER_FAILED}: {e}"
            runtime.stream_writer(Stopped(reason))
            return {"stop_reason": reason, "error": reason}
        for c, (value, feedback) in zip(todo, results, strict=True):
            c["score"], c["feedback"] = value, feedback
            runtime.stream_writer(Score(node, c["answer"] or "(no answer)", value, feedback, id=c.get("id")))
        return {"candidates": candidates}

    score.__name__ = node
    return score


def _as_score(result: tuple[float, str] | float | bool | None) -> tuple[float, str]:
    if isinstance(result, tuple):
        return float(result[0]), str(result[1])
    if result is None:
        return 0.0, "the verifier returned nothing"
    return float(result), "verifier"


def best(candidates: list[Candidate]) -> Candidate | None:
    """The highest-scoring candidate with an answer (the first one on a tie)."""
    scored = [c for c in candidates if c["answer"] is not None]
    return max(scored, key=lambda c: c.get("score", 0.0)) if scored else None


async def select_best(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Set ``state["answer"]`` to the best-scored candidate's answer (none when the verifier failed)."""
    failed = (state.get("stop_reason") or "").startswith(VERIFIER_FAILED)
    top = None if failed else best(state.get("candidates", []))
    if top is None:
        reason = state.get("stop_reason") or f"none of {len(state.get('candidates', []))} candidates gave an answer"
        runtime.stream_writer(Answer(None, reason))
        return {"answer": None, "error": reason}
    runtime.stream_writer(Answer(top["answer"], ""))
    return {"answer": top["answer"], "score": top.get("score"), "error": None}
