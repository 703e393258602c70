"""Graph nodes that read and write the experience memory (``ctx.memory``), for any workflow.

``add_memory`` brackets a workflow with both: ``recall`` before its first model call, ``record`` after its
last node. ``make_recall`` puts what the memory holds for the task (insights, reflections, concepts, worked examples;
``agentkit.memory.retrieve``) into a state field, within a token budget, for the workflow's prompt.
``make_record`` stores the finished episode as a trajectory and, when it failed, asks the model for a
reflection (Reflexion) linked to it. Both do nothing when the run has no memory; ``make_record`` also does
nothing on a read-only (``frozen``) memory, so an evaluation cannot learn.

Example:
    >>> import asyncio
    >>> from typing import TypedDict
    >>> from langgraph.graph import START, END, StateGraph
    >>> from agentkit.context import RunContext
    >>> from agentkit.memory.embed import HashEmbedder
    >>> from agentkit.memory.experience import Memory
    >>> from agentkit.models.testing import ScriptedModel
    >>> class State(TypedDict, total=False):
    ...     question: str
    ...     steps: list
    ...     won: bool
    ...     recalled: str
    ...     memory_ids: list
    >>> graph = StateGraph(State)
    >>> _ = graph.add_node("record", make_record()).add_node("recall", make_recall())
    >>> _ = graph.add_edge(START, "record").add_edge("record", "recall").add_edge("recall", END)
    >>> memory, model = Memory(None, embedder=HashEmbedder()), ScriptedModel(["Look in the cabinets first."])
    >>> state = {"question": "find the mug", "steps": [{"action": "look", "observation": "A room."}], "won": False}
    >>> final = asyncio.run(graph.compile().ainvoke(state, context=RunContext(model, memory=memory)))
    >>> final["memory_ids"]
    [1, 2]
    >>> print(final["recalled"])
    Lessons from failed attempts at similar tasks:
    - Look in the cabinets first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agentkit.context import RunContext
from agentkit.events import Recalled, RecalledItem, Thought
from agentkit.limits import BudgetExceeded, estimate_tokens
from agentkit.memory import distill
from agentkit.memory.records import Reflection, TrajectoryRecord, situation_key

__all__ = ["add_memory", "make_recall", "make_record"]


def _env_name(ctx: RunContext) -> str:
    return getattr(ctx.env, "name", "") if ctx.env is not None else ""


def make_recall(*, question: str = "question", opening: str = "opening", into: str = "recalled", budget: int = 600,
                examples: int = 2, reflections: int = 2, insights: int = 5, concepts: int = 3):
    """A node writing the memory's help for ``state[question]`` (in the situation ``state[opening]``, when the
    state has one) into ``state[into]`` (text, possibly empty), and a ``Recalled`` event naming each record it
    used, its score and its tokens."""

    async def recall(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
        memory = runtime.context.memory
        if memory is None:
            return {}
        query = situation_key(state[question], state.get(opening) or "")
        found = await memory.arecall(query, env=_env_name(runtime.context) or None,
                                     task_type=state.get("task_type"), examples=examples, reflections=reflections,
                                     insights=insights, concepts=concepts)
        text, used = found.layout(budget)
        items = tuple(RecalledItem(u.record.id, u.record.kind, u.score, u.tokens)
                      for u in used if u.record.id is not None)
        runtime.stream_writer(Recalled("recall", items, estimate_tokens(text) if text else 0, text))
        return {into: text}

    return recall


def make_record(*, question: str = "question", opening: str = "opening", workflow: str = "", reflect: bool = True,
                episode: Callable[[dict[str, Any]], dict[str, Any]] | None = None, lessons: str | None = None,
                needs_env: bool = False):
    """A node storing the episode in ``state`` (``steps``, ``won``, ``reward``, ``task_id``, ``task_type``) as
    a trajectory, with a reflection when it failed. Sets ``memory_ids`` to the ids written.

    Args:
        question: the state field holding the task.
        opening: the state field holding the first observation, if any.
        workflow: the workflow's name, kept with the trajectory.
        reflect: write a reflection after a failure.
        episode: maps the state to those fields, for workflows whose state has other names.
        lessons: a state field with the run's own reflections; the last one is stored instead of asking the
            model for a new one.
        needs_env: record only runs in an environment (ReAct with tools has no outcome to learn from).
    """

    async def record(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        if ctx.memory is None or ctx.memory.frozen or (needs_env and ctx.env is None):
            return {}
        state = {**state, **episode(state)} if episode else state
        trajectory = TrajectoryRecord(
            task=state[question], opening=state.get(opening) or "", env=_env_name(ctx), task_type=state.get("task_type") or "",
            task_id=state.get("task_id") or "", steps=[dict(s) for s in state.get("steps", [])],
            won=bool(state.get("won")), reward=float(state.get("reward") or 0.0),
            model=getattr(ctx.model, "name", ""), workflow=workflow, seconds=round(ctx.elapsed, 3))
        ids = [await ctx.memory.aadd(trajectory)]
        if reflect and not trajectory.won and lessons and state.get(lessons):
            own = Reflection(trajectory_id=trajectory.id, task=trajectory.task, text=state[lessons][-1],
                             env=trajectory.env, task_type=trajectory.task_type)
            ids.append(await ctx.memory.aadd(own))
        elif reflect and not trajectory.won:
            try:
                lesson = await distill.reflect(ctx.memory, trajectory, ctx, reason=state.get("stop_reason") or "")
            except BudgetExceeded:  # the run's budget is spent: keep the trajectory, skip the lesson
                return {"memory_ids": ids}
            runtime.stream_writer(Thought("reflect", lesson.text))
            ids.append(lesson.id)
        return {"memory_ids": ids}

    return record


def add_memory(graph: StateGraph, *, entry: str, exit: str, after: str = START, workflow: str = "",
               recall: Mapping[str, Any] | None = None, record: Mapping[str, Any] | None = None) -> None:
    """Bracket a workflow with the experience memory: ``after`` → ``recall`` → ``entry`` … ``exit`` →
    ``record`` → END. Both nodes do nothing when the run has no memory.

    Args:
        graph: the workflow's graph, its own nodes added.
        entry: the node the recalled text is for (it reads ``state["recalled"]``).
        exit: the workflow's last node.
        after: what comes before recall (``START``, or a node that first learns the task, like ReAct's reset).
        workflow: the workflow's name, kept with the trajectories it records.
        recall: options of ``make_recall`` (``budget``, ``examples``, ...).
        record: options of ``make_record`` (``reflect``, ``episode``, ``lessons``, ``needs_env``).
    """
    graph.add_node("recall", make_recall(**(recall or {})))
    graph.add_node("record", make_record(workflow=workflow, **(record or {})))
    graph.add_edge(after, "recall")
    graph.add_edge("recall", entry)
    graph.add_edge(exit, "record")
    graph.add_edge("record", END)
