"""Reflexion: trial → evaluation → self-reflection → retry, with every reflection carried into the later
trials' prompts. Trials are chains of thought; evaluation is the task's programmatic check when it has one,
else an LLM judge (a trial passes at ``pass_score``).

Example:
    >>> import asyncio
    >>> from agentkit.context import RunContext
    >>> from agentkit.models.testing import ScriptedModel
    >>> model = ScriptedModel(["Answer: 4 * 6", "Use 13 - 9 first.", "Answer: (13 - 9) * (10 - 4)"])
    >>> final = asyncio.run(build(task="game24").ainvoke({"question": "4 9 10 13"}, context=RunContext(model)))
    >>> final["answer"], final["reflections"]
    ('(13 - 9) * (10 - 4)', ['Use 13 - 9 first.'])
    >>> "Use 13 - 9 first." in model.requests[2].messages[0]["content"]
    True
"""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agentkit.context import RunContext
from agentkit.events import Thought
from agentkit.workflows.memory_nodes import add_memory
from agentkit.workflows.nodes import Candidate, StopReason, Verifier, guard, make_score, select_best, task_messages
from agentkit.workflows.tasks import Task, get_task

__all__ = ["ReflexionState", "build"]


class ReflexionState(TypedDict, total=False):
    question: str
    candidates: list[Candidate]  # one per trial, scored
    reflections: list[str]
    answer: str | None
    score: float | None
    error: str | None
    stop_reason: StopReason
    recalled: str
    memory_ids: list[int]


def build(*, task: str | Task | None = None, max_trials: int = 3, pass_score: float = 0.7,
          verifier: str | Verifier = "auto", memory_tokens: int = 600, checkpointer: Any = None
          ) -> CompiledStateGraph:
    """Build the Reflexion graph: ``recall`` → ``trial`` → ``evaluate`` → (``reflect`` → ``trial``)* →
    ``finish`` → ``record``. With an experience memory (``ctx.memory``) the trials see what it recalls for
    the question, and the run is stored with its last reflection when it failed; without one, ``recall`` and
    ``record`` do nothing.

    Args:
        task: ``qa``, ``game24``, ``arithmetic`` or a ``Task``.
        max_trials: trials at most.
        pass_score: a trial scoring at least this passes and ends the run.
        verifier: how a trial is evaluated, as in ``best_of_n.build``.
        memory_tokens: the budget of the recalled memory in the prompt.
        checkpointer: a LangGraph checkpointer so an interrupted run resumes.
    """
    task = get_task(task)

    @guard
    async def trial(state: ReflexionState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        messages = task_messages(task, "cot", ctx=runtime.context, lessons=state.get("reflections"),
                                 recalled=state.get("recalled"), question=state["question"])
        text = (await runtime.context.generate(messages)).text.strip()
        runtime.stream_writer(Thought("trial", text))
        candidate: Candidate = {"text": text, "answer": task.extract(text), "origin": "trial"}
        return {"candidates": [*state.get("candidates", []), candidate]}

    @guard
    async def reflect(state: ReflexionState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        last = state["candidates"][-1]
        messages = task_messages(task, "reflect", ctx=runtime.context, question=state["question"],
                                 numbers=state["question"], attempt=last["text"], feedback=last.get("feedback", ""))
        lesson = (await runtime.context.generate(messages, max_tokens=160)).text.strip()
        lesson = lesson or f"The answer {last['answer']!r} was wrong; try a different approach."
        runtime.stream_writer(Thought("reflect", lesson))
        return {"reflections": [*state.get("reflections", []), lesson]}

    def route(state: ReflexionState) -> str:
        candidates = state.get("candidates", [])
        passed = bool(candidates) and candidates[-1].get("score", 0.0) >= pass_score
        if passed or state.get("stop_reason") or len(candidates) >= max_trials:
            return "finish"
        return "reflect"

    def episode(state: ReflexionState) -> dict[str, Any]:
        trials = state.get("candidates", [])
        steps = [{"thought": c["text"], "action": f"answer {c['answer']}",
                  "observation": f"score {c.get('score', 0.0):.2f}. {c.get('feedback', '')}".strip()} for c in trials]
        score = state.get("score") or 0.0
        return {"steps": steps, "won": score >= pass_score, "reward": score, "task_type": task.name}

    graph = StateGraph(ReflexionState, context_schema=RunContext)
    graph.add_node("trial", trial)
    graph.add_node("evaluate", make_score(task, verifier=verifier, node="evaluate"))
    graph.add_node("reflect", reflect)
    graph.add_node("finish", select_best)
    graph.add_edge("trial", "evaluate")
    graph.add_conditional_edges("evaluate", route, ["reflect", "finish"])
    graph.add_edge("reflect", "trial")
    add_memory(graph, entry="trial", exit="finish", workflow="reflexion", recall={"budget": memory_tokens},
               record={"episode": episode, "lessons": "reflections"})
    return graph.compile(checkpointer=checkpointer)
