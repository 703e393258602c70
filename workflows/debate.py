"""Two-agent debate for questions: two debaters solve, read each other, revise; agreement (or a judge) ends it.

``open`` samples both debaters' first solutions in one batched call (the task's solving prompt, at
``temperature``). Each of ``rounds`` rounds, every debater sees the other's latest solution after its own
(prompt ``debate_revise``, in the same chat, so the solving prompt's KV cache is reused) and writes its
final one. ``decide``: when the two final answers agree (in the task's normal form) that is the answer; when
only one has an answer, that one; otherwise the model judges which solution is right (prompt
``debate_judge``, one letter). A debate stops early, after any round, once the two agree.

Example:
    >>> import asyncio
    >>> from agentkit.context import RunContext
    >>> from agentkit.models.testing import ScriptedModel
    >>> model = ScriptedModel(["3 + 4 = 7. Answer: 7", "3 + 4 = 8. Answer: 8", "Yes, 7. Answer: 7",
    ...                        "I was wrong: 7. Answer: 7"])
    >>> final = asyncio.run(build(rounds=2).ainvoke({"question": "3 + 4?"}, context=RunContext(model)))
    >>> final["answer"], len(final["turns"]), final["decided_by"]
    ('7', 2, 'agreement')
"""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agentkit.context import RunContext
from agentkit.events import Answer, Stopped, Thought
from agentkit.limits import BudgetExceeded
from agentkit.templates import render
from agentkit.workflows.guard import StopReason, guard
from agentkit.workflows.nodes import Candidate, task_messages
from agentkit.workflows.tasks import Task, get_task

__all__ = ["build", "parse_choice"]


class DebateState(TypedDict, total=False):
    question: str
    turns: list[list[Candidate]]
    candidates: list[Candidate]
    answer: str | None
    decided_by: str
    error: str | None
    stop_reason: StopReason


def parse_choice(text: str) -> int | None:
    """Which solution a judge's reply picks: 0 for A, 1 for B, ``None`` when it picks neither clearly.

    Example:
        >>> parse_choice("B"), parse_choice("Solution A is correct."), parse_choice("Both")
        (1, 0, None)
    """
    words = [w.strip(".,:;*()\"'") for w in text.replace("Solution", " ").split()]
    letters = [w for w in words if w in ("A", "B")]
    return None if not letters else "AB".index(letters[0])


def _candidate(task: Task, text: str, origin: str) -> Candidate:
    text = text.strip()
    return {"text": text, "answer": task.extract(text), "origin": origin, "extracted_by": task.extraction_rule(text)}


def _agree(task: Task, pair: list[Candidate]) -> bool:
    a, b = pair[0]["answer"], pair[1]["answer"]
    return a is not None and b is not None and task.normalize(a) == task.normalize(b)


def build(*, task: str | Task | None = None, rounds: int = 1, temperature: float = 0.7, checkpointer: Any = None
          ) -> CompiledStateGraph:
    """Build the debate graph: ``open`` → (``revise``)×rounds → ``decide``.

    Args:
        task: the task (its solving prompt, answer format and normal form).
        rounds: revision rounds at most (the debate ends sooner once both answers agree).
        temperature: the debaters' sampling temperature (their first solutions differ because of it).
    """
    task = get_task(task)

    @guard
    async def open_(state: DebateState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        messages = task_messages(task, "cot", ctx=runtime.context, question=state["question"])
        completion = await runtime.context.generate(messages, n=2, temperature=temperature)
        pair = [_candidate(task, text, f"debater {i + 1}") for i, text in enumerate(completion.texts[:2])]
        for c in pair:
            runtime.stream_writer(Thought(c["origin"], c["text"]))
        return {"turns": [pair]}

    @guard
    async def revise(state: DebateState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx, last = runtime.context, state["turns"][-1]
        base = task_messages(task, "cot", ctx=ctx, question=state["question"])

        async def turn(i: int) -> Candidate:
            follow = render(ctx.template("debate_revise"), other=last[1 - i]["text"])
            chat = [*base, {"role": "assistant", "content": last[i]["text"]}, *follow]
            text = (await ctx.generate(chat, temperature=temperature, seed=len(state["turns"]) * 2 + i)).text
            c = _candidate(task, text, f"debater {i + 1}")
            runtime.stream_writer(Thought(c["origin"], c["text"]))
            return c

        pair = list(await asyncio.gather(turn(0), turn(1)))
        return {"turns": [*state["turns"], pair]}

    async def decide(state: DebateState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        turns = state.get("turns") or []
        if not turns:
            reason = state.get("stop_reason") or "the debaters wrote nothing"
            runtime.stream_writer(Answer(None, reason))
            return {"answer": None, "error": reason, "candidates": []}
        pair = turns[-1]
        answered = [c for c in pair if c["answer"] is not None]
        if _agree(task, pair) or len(answered) == 1:
            chosen, how = answered[0], "agreement" if len(answered) == 2 else "the only answer"
        elif not answered:
            reason = state.get("stop_reason") or f"neither debater gave an answer ({task.no_answer})"
            runtime.stream_writer(Answer(None, reason))
            return {"answer": None, "error": reason, "candidates": pair}
        else:
            chosen, how = await _judge(state["question"], pair, runtime)
        runtime.stream_writer(Answer(chosen["answer"], ""))
        return {"answer": chosen["answer"], "decided_by": how, "error": None, "candidates": [chosen]}

    async def _judge(question: str, pair: list[Candidate], runtime: Runtime[RunContext]) -> tuple[Candidate, str]:
        ctx = runtime.context
        messages = render(ctx.template("debate_judge"), question=question, a=pair[0]["text"], b=pair[1]["text"])
        try:
            reply = (await ctx.generate(messages, max_tokens=4, temperature=0.0)).text
        except BudgetExceeded as e:  # no budget left to judge: the first debater's answer stands
            runtime.stream_writer(Stopped(e.reason))
            return pair[0], "no judgement (first debater)"
        runtime.stream_writer(Thought("judge", reply.strip()))
        choice = parse_choice(reply)
        return (pair[choice], "judge") if choice is not None else (pair[0], "unclear judgement (first debater)")

    def after(state: DebateState) -> str:
        turns = state.get("turns") or []
        if state.get("stop_reason") or not turns or _agree(task, turns[-1]) or len(turns) > rounds:
            return "decide"
        return "revise"

    graph = StateGraph(DebateState, context_schema=RunContext)
    graph.add_node("open", open_)
    graph.add_node("revise", revise)
    graph.add_node("decide", decide)
    graph.add_edge(START, "open")
    graph.add_conditional_edges("open", after, ["revise", "decide"])
    graph.add_conditional_edges("revise", after, ["revise", "decide"])
    graph.add_edge("decide", END)
    return graph.compile(checkpointer=checkpointer)
