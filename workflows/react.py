"""ReAct: thought / action / observation over an environment (``ctx.env``) or Python tools.

Each turn the model writes ``Thought: …`` and ``Action: …``; the action is checked against the admissible
actions when the environment lists them, then stepped. Model mistakes are observations, not crashes: a reply
without an action gets a format reminder, an inadmissible action gets the list of valid ones, a failing tool
its error, and the agent goes on until it finishes, ``max_steps`` pass, or ``max_parse_failures`` replies in
a row had no action. A small model at temperature 0 tends to loop (``look``, ``look``, …): an action
already taken in the same situation is resampled (``resamples`` times at most) at a higher temperature,
left out of the valid actions and named in a note, before it is played. The history is a chat kept within
``context_tokens`` by folding old steps into a digest (``workflows/acting.py``), rarely, so the prompt
prefix stays stable for KV reuse; a model that still reports a context overflow gets one retry on half the
budget, then the episode stops with that reason.

Example:
    >>> import asyncio
    >>> from agentkit.context import RunContext
    >>> from agentkit.models.testing import ScriptedModel
    >>> model = ScriptedModel(["Thought: multiply.\\nAction: calculator[17 * 23]",
    ...                        "Thought: done.\\nAction: finish[391]"])
    >>> final = asyncio.run(build().ainvoke({"question": "What is 17 * 23?"}, context=RunContext(model)))
    >>> final["answer"], [s["observation"] for s in final["steps"]]
    ('391', ['391', 'Final answer: 391'])
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agentkit.context import RunContext
from agentkit.envs.base import Env
from agentkit.envs.tools import Tool, ToolEnv, calculator
from agentkit.errors import ContextOverflowError, StructuredOutputError
from agentkit.events import Action, Answer, Observation, Stopped, Thought
from agentkit.models.base import Completion
from agentkit.types import Message
from agentkit.workflows.acting import Transcript, compact_actions, match_action, repeat_hint, stale_action
from agentkit.workflows.memory_nodes import make_recall, make_record
from agentkit.workflows.nodes import StopReason, guard, task_messages
from agentkit.workflows.tasks import Task, get_task

__all__ = ["ReActState", "Step", "build", "parse_reply"]

_THOUGHT = re.compile(r"thought\s*:\s*(.*?)(?=\n\s*action\s*:|\Z)", re.IGNORECASE | re.DOTALL)
_ACTION = re.compile(r"action\s*:\s*(.+)", re.IGNORECASE)
_BARE_CALL = re.compile(r"^\s*([A-Za-z_]\w*\[.*\])\s*$", re.MULTILINE)


class Step(TypedDict):
    thought: str
    action: str | None
    observation: str
    valid: bool


class ReActState(TypedDict, total=False):
    question: str
    task_id: str | None
    task_type: str | None
    opening: str
    folded: int
    admissible: list[str] | None
    steps: list[Step]
    parse_failures: int
    done: bool
    won: bool
    reward: float
    answer: str | None
    error: str | None
    stop_reason: StopReason
    recalled: str
    memory_ids: list[int]


def _repeats(steps: Sequence[Step]) -> int:
    """How many times in a row the last action was taken."""
    last, count = steps[-1]["action"], 0
    for step in reversed(steps):
        if step["action"] != last:
            break
        count += 1
    return count


def _parsed(text: str, admissible: Sequence[str] | None) -> tuple[str, str | None]:
    """The reply's thought and action, the action spelled as in ``admissible`` when it matches one."""
    thought, action = parse_reply(text)
    if action is not None and admissible:
        action = match_action(action, admissible) or action
    return thought, action


def _reply(completion: Completion, admissible: Sequence[str] | None) -> tuple[str, str | None]:
    """The thought and action of a reply: the JSON fields when the reply was constrained (falling back to
    the text when it was cut short), else the two lines."""
    if completion.schema is not None:
        try:
            value = completion.json()
            return str(value["thought"]).strip(), str(value["action"])
        except StructuredOutputError:
            pass
    return _parsed(completion.text, admissible)


def parse_reply(text: str) -> tuple[str, str | None]:
    """A reply's thought and action (``None`` when it has no recognisable action).

    Example:
        >>> parse_reply("Thought: add them.\\nAction: calculator[2 + 3]\\nObservation: 5")
        ('add them.', 'calculator[2 + 3]')
        >>> parse_reply("I think the answer is 5.")
        ('I think the answer is 5.', None)
    """
    text = text.replace("**", "")
    thought_match = _THOUGHT.search(text)
    actions = _ACTION.findall(text)
    action = actions[0].strip().strip("`").strip() if actions else None
    if action is None and (bare := _BARE_CALL.findall(text)):
        action = bare[-1].strip()
    thought = thought_match.group(1).strip() if thought_match else text.split("Action")[0].strip()
    return thought, action or None


def build(*, task: str | Task | None = None, tools: Sequence[Tool] = (calculator,), max_steps: int = 10,
          max_parse_failures: int = 3, demos: Mapping[str, str] | None = None, context_tokens: int = 3000,
          reply_tokens: int = 150, resamples: int = 2, resample_temperature: float = 0.8,
          memory_tokens: int = 600, reflect: bool = True, constrained: bool = False,
          checkpointer: Any = None) -> CompiledStateGraph:
    """Build the ReAct graph: ``reset`` → ``recall`` → (``think`` → ``act``)* → ``finish`` → ``record``.

    With an experience memory in the run's context (``ctx.memory``), ``recall`` adds what it holds for the
    task to the system prompt and ``record`` stores the episode (and a reflection when it failed); without
    one, both do nothing.

    With an environment (``ctx.env``) the input is ``{"task_id": ...}`` (the environment's task id; the
    question is the task it states); with tools it is ``{"question": ...}``.

    Args:
        task: supplies the ``react`` (tools) and ``act`` (environments) prompts (``qa`` by default).
        tools: the tools used when the run's context has no environment.
        max_steps: actions at most.
        max_parse_failures: replies in a row without an action before giving up.
        demos: a worked example per task type (e.g. ``agentkit.envs.demos.expert_demos``), shown in the
            system prompt of episodes of that type.
        context_tokens: the prompt's budget; older steps are folded into a digest to stay within it
            (see ``workflows/acting.py``).
        reply_tokens: generation limit per reply.
        resamples: new replies sampled at most when the action was already taken in the same situation.
        resample_temperature: their sampling temperature.
        memory_tokens: the budget of the recalled memory in the prompt.
        reflect: write a reflection into the memory after a failed episode.
        constrained: when the environment lists its valid actions, the reply is a JSON object whose action
            is grammar-constrained to one of them (a resample leaves the repeated action out), so the model
            cannot write an invalid action; needs a backend with structured output (llamacpp, vllm).
        checkpointer: a LangGraph checkpointer so an interrupted run resumes.
    """
    task = get_task(task)
    transcript = Transcript(budget=context_tokens, json_replies=constrained)

    def env_of(ctx: RunContext, question: str) -> Env | ToolEnv:
        return ctx.env if ctx.env is not None else ToolEnv(tools, task=question)

    async def reset(state: ReActState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        if ctx.env is not None:
            obs = await ctx.env.reset(state.get("task_id"))
        else:
            obs = await ToolEnv(tools).reset(state["question"])
        if obs.text:
            runtime.stream_writer(Observation("reset", obs.text))
        return {"question": obs.task or state.get("question", ""), "opening": obs.text,
                "task_type": obs.info.task_type if obs.info else None, "admissible": obs.admissible,
                "steps": [], "parse_failures": 0, "folded": 0, "done": False, "won": False, "reward": 0.0}

    def action_schema(admissible: Sequence[str] | None, exclude: Collection[str]) -> dict[str, Any] | None:
        if not constrained or not admissible:
            return None
        actions = sorted(set(admissible) - set(exclude)) or sorted(set(admissible))
        return {"type": "object", "properties": {"thought": {"type": "string"},
                                                 "action": {"enum": actions}},
                "required": ["thought", "action"], "additionalProperties": False}

    def head(state: ReActState, env: Any) -> list[Message]:
        if isinstance(env, ToolEnv):
            return task_messages(task, "react", actions=env.describe(), goal=state["question"],
                                 observation=state.get("opening") or "")
        demo = (demos or {}).get(state.get("task_type") or "", "")
        demo = f"\nHere is a solved example of a similar task:\n{demo}\n" if demo else ""
        chat = task_messages(task, "act_json" if constrained else "act", goal=state["question"],
                             observation=state.get("opening") or "", demo=demo)
        if recalled := state.get("recalled"):  # in the first user turn: the system prompt stays in the KV cache
            chat[-1] = {**chat[-1], "content": f"From your memory of earlier tasks:\n{recalled}\n\n{chat[-1]['content']}"}
        return chat

    def messages(state: ReActState, env: Any, budget_scale: float = 1.0,
                 exclude: Collection[str] = ()) -> tuple[list[Message], int]:
        admissible = [a for a in state.get("admissible") or () if a not in exclude]
        tail = f"Valid actions: {compact_actions(admissible)}" if admissible else ""
        layout = transcript if budget_scale == 1.0 else replace(transcript, budget=int(transcript.budget * budget_scale))
        return layout.messages(head(state, env), state.get("steps", []), state.get("folded", 0), tail)

    @guard
    async def think(state: ReActState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx, steps = runtime.context, state.get("steps", [])
        env = env_of(ctx, state["question"])
        options: dict[str, Any] = {"stop": ["\nObservation", "Observation:"], "max_tokens": reply_tokens}
        admissible = state.get("admissible")
        for scale in (1.0, 0.5):
            chat, folded = messages(state, env, scale)
            try:
                completion = await ctx.generate(chat, schema=action_schema(admissible, ()), **options)
                break
            except ContextOverflowError as e:
                overflow = str(e)
        else:
            reason = f"context overflow even after folding old steps: {overflow}"
            runtime.stream_writer(Stopped(reason))
            return {"stop_reason": reason}
        thought, action = _reply(completion, admissible)
        tried: list[str] = []
        for attempt in range(1, resamples + 1):
            if action is None or not stale_action(steps, state.get("opening") or "", action):
                break
            tried.append(action)  # left out of the list, and named in a note
            retry, _ = messages(state, env, scale, exclude=tried)
            nudge = f"\n(You already did '{action}' in this situation and it did not help. Choose another action.)"
            retry[-1] = {**retry[-1], "content": retry[-1]["content"] + nudge}
            try:
                completion = await ctx.generate(retry, temperature=resample_temperature, seed=attempt,
                                                schema=action_schema(admissible, tried), **options)
            except ContextOverflowError:
                break
            thought, action = _reply(completion, admissible)
        runtime.stream_writer(Thought("think", thought))
        step: Step = {"thought": thought, "action": action, "observation": "", "valid": action is not None}
        return {"steps": [*steps, step], "folded": folded}

    async def act(state: ReActState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        steps = [dict(s) for s in state["steps"]]
        step = steps[-1]
        update: dict[str, Any] = {"steps": steps}
        admissible = state.get("admissible")
        if step["action"] is None:
            form = ('one JSON object {"thought": ..., "action": ...}' if constrained else
                    "'Thought: ...' and then 'Action: ...'")
            step["observation"] = f"Your reply had no action. Reply with {form} using one of the available actions."
            update["parse_failures"] = state.get("parse_failures", 0) + 1
        elif admissible and step["action"] not in admissible:
            step["valid"] = False
            step["observation"] = (f"Invalid action {step['action']!r}. Choose exactly one of: "
                                   + compact_actions(admissible))
            update["parse_failures"] = 0
        else:
            result = await env_of(runtime.context, state["question"]).step(step["action"])
            step["observation"] = result.observation
            step["valid"] = not (result.info.get("invalid") or result.observation.startswith("Invalid action"))
            update.update(parse_failures=0, done=result.done, won=result.won,
                          reward=state.get("reward", 0.0) + result.reward)
            if result.admissible is not None:
                update["admissible"] = result.admissible
            if result.done:
                update["answer"] = result.info.get("answer")
        repeats = _repeats(steps)
        if repeats >= 3 and not update.get("done"):
            step["observation"] += repeat_hint(repeats)
        runtime.stream_writer(Action("act", step["action"] or "(none)", step["valid"]))
        runtime.stream_writer(Observation("act", step["observation"]))
        return update

    def route(state: ReActState) -> str:
        return "finish" if state.get("done") or _limit(state) or state.get("stop_reason") else "think"

    def _limit(state: ReActState) -> str | None:
        if len(state.get("steps", [])) >= max_steps:
            return f"step limit reached ({max_steps} steps)"
        if state.get("parse_failures", 0) >= max_parse_failures:
            return f"{max_parse_failures} replies in a row had no action"
        return None

    async def finish(state: ReActState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        reason = state.get("stop_reason")
        if not state.get("done") and not reason and (reason := _limit(state)):
            runtime.stream_writer(Stopped(reason))
        answer = state.get("answer")
        why = "" if answer is not None or state.get("won") else (reason or "the episode ended without an answer")
        runtime.stream_writer(Answer(answer, why))
        return {"answer": answer, "error": why or None, "stop_reason": reason}

    def after_think(state: ReActState) -> str:
        return "finish" if state.get("stop_reason") else "act"

    graph = StateGraph(ReActState, context_schema=RunContext)
    graph.add_node("reset", reset)
    graph.add_node("recall", make_recall(budget=memory_tokens))
    graph.add_node("think", think)
    graph.add_node("act", act)
    graph.add_node("finish", finish)
    graph.add_node("record", make_record(workflow="react", reflect=reflect, needs_env=True))
    graph.add_edge(START, "reset")
    graph.add_edge("reset", "recall")
    graph.add_edge("recall", "think")
    graph.add_conditional_edges("think", after_think, ["act", "finish"])
    graph.add_conditional_edges("act", route, ["think", "finish"])
    graph.add_edge("finish", "record")
    graph.add_edge("record", END)
    return graph.compile(checkpointer=checkpointer)
