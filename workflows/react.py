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
budget, then the episode stops with that reason. The steps are node factories any graph can reuse
(``workflows/react_nodes.py``).

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

from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agentkit.context import RunContext
from agentkit.envs.tools import Tool, calculator
from agentkit.errors import UserError
from agentkit.workflows.acting import Transcript
from agentkit.workflows.memory_nodes import add_memory
from agentkit.workflows.react_nodes import (
    ActingPrompt, ReActState, Step, make_act, make_finish, make_reset, make_think, parse_reply, step_limit,
)
from agentkit.workflows.roles import make_critique, make_plan_act
from agentkit.workflows.tasks import Task, get_task
from agentkit.workflows.trials import make_retry, outcome, should_retry

__all__ = ["ReActState", "Step", "build", "parse_reply"]

#: What the memory recalls for an episode, by kind of record.
MEMORY_KINDS = ("trajectory", "reflection", "insight", "concept")


def _recall_counts(kinds: Sequence[str]) -> dict[str, int]:
    """``make_recall``'s per-kind counts with the kinds not in ``kinds`` turned off."""
    unknown = sorted(set(kinds) - set(MEMORY_KINDS))
    if unknown:
        raise UserError(f"memory_kinds has {', '.join(unknown)}; the kinds are {', '.join(MEMORY_KINDS)}.")
    counts = {"trajectory": ("examples", 2), "reflection": ("reflections", 2), "insight": ("insights", 5),
              "concept": ("concepts", 3)}
    return {name: (n if kind in kinds else 0) for kind, (name, n) in counts.items()}


def build(*, task: str | Task | None = None, tools: Sequence[Tool] = (calculator,), max_steps: int = 10,
          max_parse_failures: int = 3, demos: Mapping[str, str] | None = None, context_tokens: int = 3000,
          reply_tokens: int = 150, resamples: int = 2, resample_temperature: float = 0.8,
          memory_tokens: int = 600, memory_kinds: Sequence[str] = MEMORY_KINDS, reflect: bool = True,
          constrained: bool = False, choose: str = "generate", per_token: bool = True, thought: str = "model",
          lookahead: int = 0, unsure_below: float = 0.5, lookahead_tokens: int = 30000, track_state: bool = False,
          show_actions: str = "all", trials: int = 1, planner: bool = False, critic: bool = False,
          checkpointer: Any = None) -> CompiledStateGraph:
    """Build the ReAct graph: ``reset`` → (``plan``) → ``recall`` → (``think`` → (``critique``) → ``act``)* →
    ``finish`` → ``record`` (the parenthesised roles when ``planner`` / ``critic`` are on).

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
        memory_kinds: the kinds of record recalled (trajectory, reflection, insight, concept; default all).
        reflect: write a reflection into the memory after a failed episode.
        constrained: when the environment lists its valid actions, the reply is a JSON object whose action
            is grammar-constrained to one of them (a resample leaves the repeated action out), so the model
            cannot write an invalid action; needs a backend with structured output (llamacpp, vllm).
        choose: ``"generate"`` (the model writes its action) or ``"score"``: where the environment lists its
            valid actions, the model writes only its thought and the action is the valid one it finds most
            likely after it (each action's log-likelihood on the prompt's KV cache; needs a backend that can
            score, e.g. llamacpp). No invalid action is possible, and a repeat is replaced by the next best.
        per_token: with ``choose="score"``, rank actions by log-probability per token (else summed, which
            favours short actions).
        thought: ``"model"`` (the model writes its thought) or ``"notes"``: with ``choose="score"`` and
            ``track_state``, the thought is what the notes say the goal needs next, so no text is generated.
        lookahead: with ``choose="score"``, at a step where the likeliest action has less than
            ``unsure_below`` of the probability, sample this many more thoughts and pool the actions'
            probabilities after each (a decision point's deliberation), while the episode's lookahead has
            spent fewer than ``lookahead_tokens`` tokens.
        track_state: keep notes from the observations (where the agent is, what it holds, what it has seen
            where, what is unsearched or closed, what the goal still needs) and show them in the latest turn;
            the environment supplies the notebook (``env.notes``, e.g. ALFWorld's ``envs/alfworld_notes.py``).
        show_actions: how each turn lists the environment's valid actions: ``"all"``, ``"folded"``
            (``go to cabinet 1-18``) or ``"none"``, which needs ``choose="score"`` (the actions are scored,
            not read; on ALFWorld the list is most of what a step adds to the prompt).
        trials: play a failed episode again from the start, up to this many times in all, with the lessons
            the model wrote after each failure in the prompt (Reflexion; ``workflows/trials.py``). The
            episode is won when a trial wins; ``trials`` in the final state lists each trial's outcome.
        planner: after the first observation, a planner writes a plan the agent sees in its first turn
            (``workflows/roles.py``).
        critic: a critic reviews each proposed action and may replace it with a better valid one.
        checkpointer: a LangGraph checkpointer so an interrupted run resumes.
    """
    if show_actions not in ("all", "folded", "none"):
        raise UserError(f"show_actions must be all, folded or none, got {show_actions!r}.")
    if show_actions == "none" and choose != "score":
        raise UserError("show_actions='none' hides the valid actions, so the model cannot write one: "
                        "set choose='score' (the model then scores them) or show them folded.")
    prompt = ActingPrompt(get_task(task), Transcript(budget=context_tokens, json_replies=constrained), demos=demos,
                          constrained=constrained, tools=tuple(tools), show_actions=show_actions)
    limit = step_limit(max_steps, max_parse_failures)

    def after_think(state: ReActState) -> str:
        return "finish" if state.get("stop_reason") else "critique" if critic else "act"

    def after_act(state: ReActState) -> str:
        return "finish" if state.get("done") or limit(state) or state.get("stop_reason") else "think"

    graph = StateGraph(ReActState, context_schema=RunContext)
    graph.add_node("reset", make_reset(tools=tools, track_state=track_state))
    graph.add_node("think", make_think(prompt, reply_tokens=reply_tokens, resamples=resamples,
                                       resample_temperature=resample_temperature, choose=choose,
                                       per_token=per_token, thought=thought, lookahead=lookahead,
                                       unsure_below=unsure_below, lookahead_tokens=lookahead_tokens))
    graph.add_node("act", make_act(tools=tools, constrained=constrained))
    graph.add_node("finish", make_finish(limit))
    graph.add_edge(START, "reset")
    graph.add_conditional_edges("think", after_think, ["critique" if critic else "act", "finish"])
    graph.add_conditional_edges("act", after_act, ["think", "finish"])
    if critic:
        graph.add_node("critique", make_critique())
        graph.add_conditional_edges("critique", lambda s: "finish" if s.get("stop_reason") else "act",
                                    ["act", "finish"])
    if planner:
        graph.add_node("plan", make_plan_act())
        graph.add_edge("reset", "plan")
    if thought == "notes" and not track_state:
        raise UserError("thought='notes' writes each thought from the agent's notes: set track_state=True too.")
    if trials < 1:
        raise UserError(f"trials must be at least 1, got {trials}.")
    last = "finish"
    if trials > 1:
        graph.add_node("retry", make_retry())
        graph.add_node("close", lambda state: {"trials": [*state.get("trials", []), outcome(state)]})
        graph.add_conditional_edges("finish", lambda s: "retry" if should_retry(s, trials) else "close",
                                    ["retry", "close"])
        graph.add_edge("retry", "reset")
        last = "close"
    add_memory(graph, after="plan" if planner else "reset", entry="think", exit=last, workflow="react",
               recall={"budget": memory_tokens, **_recall_counts(memory_kinds)},
               record={"reflect": reflect, "needs_env": True})
    return graph.compile(checkpointer=checkpointer)

