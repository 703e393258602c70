"""Collaboration roles as nodes: a planner that writes a plan first, and a critic that reviews each action.

* ``planned`` (a workflow): the planner writes a short plan for the question (prompt ``plan``), then any
  reasoning workflow solves the question with the plan under it; its events stream through.
* ``make_plan_act``: ReAct's planner, after the first observation (prompt ``plan_act``); the plan is shown in
  the agent's first user turn (``react.build(planner=True)``).
* ``make_critique``: ReAct's critic, between ``think`` and ``act`` (prompt ``critic``): it replies ``OK`` or
  ``REVISE: <action>``; a revision that names a valid action replaces the proposed one (a veto with a
  better move), anything else leaves the action as it was (``react.build(critic=True)``).

The two-agent debate is ``workflows/debate.py``.

Example:
    >>> import asyncio
    >>> from agentkit.context import RunContext
    >>> from agentkit.models.testing import ScriptedModel
    >>> model = ScriptedModel(["1. Add the apples.", "3 + 4 = 7. Answer: 7"])
    >>> final = asyncio.run(build(workflow="cot").ainvoke({"question": "3 apples and 4 apples?"},
    ...                                                   context=RunContext(model)))
    >>> final["answer"], final["plan"]
    ('7', '1. Add the apples.')
    >>> "1. Add the apples." in model.requests[1].messages[-1]["content"]
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agentkit.context import RunContext
from agentkit.errors import UserError
from agentkit.events import Thought
from agentkit.templates import render
from agentkit.workflows.acting import match_action
from agentkit.workflows.guard import StopReason, guard
from agentkit.workflows.tasks import Task, get_task

__all__ = ["PLAN_NOTE", "build", "make_critique", "make_plan", "make_plan_act", "parse_critique"]

#: How the plan is put under the question for the solver.
PLAN_NOTE = "{question}\n\nA plan to follow:\n{plan}"
_SOLVERS = ("cot", "sc", "best-of-n", "tot", "got", "mcts", "reflexion")


class PlannedState(TypedDict, total=False):
    question: str
    plan: str
    answer: str | None
    reasoning: str
    candidates: list[dict[str, Any]]
    tree: list[dict[str, Any]]
    solution: int | None
    extracted_by: str
    error: str | None
    stop_reason: StopReason


def make_plan(*, prompt: str = "plan", max_tokens: int = 160, node: str = "plan"):
    """A node writing a short plan for ``state["question"]`` into ``state["plan"]``."""

    @guard
    async def plan(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        completion = await ctx.generate(render(ctx.template(prompt), question=state["question"]), max_tokens=max_tokens)
        text = completion.text.strip()
        runtime.stream_writer(Thought(node, text))
        return {"plan": text}

    plan.__name__ = node
    return plan


def build(*, workflow: str = "cot", task: str | Task | None = None, plan_tokens: int = 160,
          checkpointer: Any = None, **options: Any) -> CompiledStateGraph:
    """Build ``plan`` → ``solve``: the planner writes a plan, then ``workflow`` (built with ``task`` and
    ``options``) answers the question with the plan under it.

    Args:
        workflow: the reasoning workflow that solves (cot, sc, best-of-n, tot, got, mcts, reflexion).
        task: the task (its prompts and answer format).
        plan_tokens: the plan's generation limit.
        options: the solver's own options (``n=4`` for sc ...).
    """
    from agentkit.workflows.registry import build_workflow

    if workflow not in _SOLVERS:
        raise UserError(f"planned: the solver must be one of {', '.join(_SOLVERS)}, not {workflow!r}.")
    task = get_task(task)
    solver = build_workflow(workflow, task=task, **options)

    async def solve(state: PlannedState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        if state.get("stop_reason"):  # the planner spent the budget
            return {"answer": None, "error": state["stop_reason"]}
        question = PLAN_NOTE.format(question=state["question"], plan=state.get("plan") or "(no plan)")
        final = await solver.ainvoke({"question": question}, context=runtime.context)
        return {k: v for k, v in final.items() if k in PlannedState.__annotations__ and k not in ("question", "plan")}

    graph = StateGraph(PlannedState, context_schema=RunContext)
    graph.add_node("plan", make_plan(max_tokens=plan_tokens))
    graph.add_node("solve", solve)
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "solve")
    graph.add_edge("solve", END)
    return graph.compile(checkpointer=checkpointer)


def make_plan_act(*, prompt: str = "plan_act", max_tokens: int = 160, node: str = "plan"):
    """ReAct's planner: after ``reset``, a plan for the task from its first observation (``state["plan"]``)."""

    @guard
    async def plan(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        messages = render(ctx.template(prompt), goal=state["question"], observation=state.get("opening") or "")
        text = (await ctx.generate(messages, max_tokens=max_tokens)).text.strip()
        runtime.stream_writer(Thought(node, text))
        return {"plan": text}

    plan.__name__ = node
    return plan


def parse_critique(text: str, admissible: Sequence[str] | None) -> str | None:
    """The action a critic's reply puts in place of the proposed one (``None``: keep it).

    Example:
        >>> parse_critique("REVISE: open the fridge", ["open fridge 1", "go to sink 1"]) is None
        True
        >>> parse_critique("revise: Go to sink 1.", ["open fridge 1", "go to sink 1"])
        'go to sink 1'
        >>> parse_critique("OK", ["go to sink 1"]) is None
        True
    """
    head, _, rest = text.strip().partition(":")
    if head.strip().lower() != "revise" or not rest.strip():
        return None
    action = rest.strip().splitlines()[0].strip().strip("`").rstrip(".").strip()
    if admissible:
        return match_action(action, admissible)
    return action or None


def make_critique(*, prompt: str = "critic", max_tokens: int = 40, history: int = 3, node: str = "critique"):
    """ReAct's critic: reviews the last step's proposed action before ``act`` plays it, and replaces it when
    the critic names a better valid action (the step's thought records the revision)."""

    @guard
    async def critique(state: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
        steps = [dict(s) for s in state.get("steps", [])]
        if not steps or steps[-1]["action"] is None:
            return {}
        ctx, step = runtime.context, steps[-1]
        admissible = state.get("admissible") or []
        recent = [f"> {s['action']}\n{s['observation']}" for s in steps[:-1][-history:]]
        messages = render(ctx.template(prompt), goal=state["question"],
                          history="\n".join(recent) or "(none yet)", action=step["action"],
                          actions=", ".join(admissible) if admissible else "(any)")
        text = (await ctx.generate(messages, max_tokens=max_tokens, temperature=0.0)).text.strip()
        runtime.stream_writer(Thought(node, text))
        revised = parse_critique(text, admissible)
        if revised is None or revised == step["action"]:
            return {}
        step["thought"] = f"{step['thought']} (critic: {step['action']} -> {revised})".strip()
        step["action"] = revised
        return {"steps": steps}

    critique.__name__ = node
    return critique
