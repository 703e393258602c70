"""ReAct's steps as node factories, so any graph can reuse them (as ``make_generate`` is reused):

* ``make_reset``: the episode's first observation (``ctx.env.reset``, or the question for Python tools);
* ``make_think``: the model writes ``Thought: …`` and ``Action: …`` (an action already taken in the same
  situation is resampled, see ``workflows/react.py``);
* ``make_act``: the action is checked against the admissible ones and played; what the environment answers
  becomes the step's observation (a reply without an action, or an invalid one, gets an explanation
  instead, and the episode goes on);
* ``make_finish``: why the episode ended, and its answer.

``ActingPrompt`` lays out the chat they share; ``step_limit`` is the loop's stopping rule.

Example (ReAct without the memory bracket, wired by hand):
    >>> import asyncio
    >>> from langgraph.graph import END, START, StateGraph
    >>> from agentkit.context import RunContext
    >>> from agentkit.models.testing import ScriptedModel
    >>> from agentkit.workflows.acting import Transcript
    >>> from agentkit.workflows.tasks import get_task
    >>> prompt, limit = ActingPrompt(get_task("qa"), Transcript()), step_limit(4, 2)
    >>> graph = StateGraph(ReActState, context_schema=RunContext)
    >>> for name, node in [("reset", make_reset()), ("think", make_think(prompt)), ("act", make_act()),
    ...                    ("finish", make_finish(limit))]:
    ...     _ = graph.add_node(name, node)
    >>> _ = graph.add_edge(START, "reset").add_edge("reset", "think").add_edge("think", "act")
    >>> _ = graph.add_conditional_edges("act", lambda s: "finish" if s.get("done") or limit(s) else "think")
    >>> _ = graph.add_edge("finish", END)
    >>> model = ScriptedModel(["Thought: add.\\nAction: calculator[2 + 3]", "Thought: done.\\nAction: finish[5]"])
    >>> asyncio.run(graph.compile().ainvoke({"question": "2 + 3?"}, context=RunContext(model)))["answer"]
    '5'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NotRequired, TypedDict

from langgraph.runtime import Runtime

from agentkit.context import RunContext
from agentkit.envs.base import Env
from agentkit.envs.tools import Tool, ToolEnv, calculator
from agentkit.errors import ContextOverflowError, StructuredOutputError, UserError
from agentkit.events import Action, Answer, Observation, Stopped, Thought
from agentkit.limits import BudgetExceeded
from agentkit.models.base import Completion
from agentkit.types import Message
from agentkit.workflows.acting import Transcript, compact_actions, match_action, repeat_hint, stale_action
from agentkit.workflows.guard import StopReason, guard
from agentkit.workflows.nodes import task_messages
from agentkit.workflows.tasks import Task

__all__ = ["ActingPrompt", "ReActState", "Step", "make_act", "make_finish", "make_reset", "make_think",
           "parse_reply", "step_limit"]

_THOUGHT = re.compile(r"thought\s*:\s*(.*?)(?=\n\s*action\s*:|\Z)", re.IGNORECASE | re.DOTALL)
_ACTION = re.compile(r"action\s*:\s*(.+)", re.IGNORECASE)
_BARE_CALL = re.compile(r"^\s*([A-Za-z_]\w*\[.*\])\s*$", re.MULTILINE)

Tools = Sequence[Tool]


class Step(TypedDict):
    thought: str
    action: str | None
    observation: str
    valid: bool
    #: what choosing this step cost: prompt tokens, those served from the KV cache, and generated tokens
    tokens: NotRequired[dict[str, int]]


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
    plan: str
    notes: dict[str, Any]
    trials: list[dict[str, Any]]
    reflections: list[str]
    lookahead_tokens: int


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


def _reply(completion: Completion, admissible: Sequence[str] | None) -> tuple[str, str | None]:
    """The thought and action of a reply: the JSON fields when the reply was constrained (falling back to
    the text when it was cut short), else the two lines, the action spelled as in ``admissible``."""
    if completion.schema is not None:
        try:
            value = completion.json()
            return str(value["thought"]).strip(), str(value["action"])
        except StructuredOutputError:
            pass
    thought, action = parse_reply(completion.text)
    if action is not None and admissible:
        action = match_action(action, admissible) or action
    return thought, action


def _acting_env(ctx: RunContext, question: str, tools: Tools) -> Env | ToolEnv:
    return ctx.env if ctx.env is not None else ToolEnv(tools, task=question)


@dataclass(frozen=True, slots=True)
class ActingPrompt:
    """The chat an acting agent sees: the task's ``act`` (or ``act_json``, or ``react`` for tools)
    template, one demonstration per task type, recalled memory in the first user turn, and the steps laid
    out by ``transcript`` within its budget.

    Attributes:
        task: supplies the templates (a run's prompt overrides of them apply).
        transcript: the layout of the steps (budget, digest of old steps).
        demos: a worked example per task type, shown in the system prompt of episodes of that type.
        constrained: replies are JSON whose action is grammar-constrained to the valid ones.
        tools: the tools described when the run has no environment.
        show_actions: how the latest turn lists the valid actions: ``"all"``, ``"folded"`` (numbered
            variants as ranges, ``go to cabinet 1-18``) or ``"none"`` (for agents that score the actions
            rather than write one).
    """

    task: Task
    transcript: Transcript
    demos: Mapping[str, str] | None = None
    constrained: bool = False
    tools: Tools = (calculator,)
    show_actions: str = "all"

    def head(self, state: ReActState, env: Any, ctx: RunContext) -> list[Message]:
        """The system prompt and first user turn (fixed for the episode, so the KV cache is reused)."""
        if isinstance(env, ToolEnv):
            return task_messages(self.task, "react", ctx=ctx, actions=env.describe(), goal=state["question"],
                                 observation=state.get("opening") or "")
        demo = (self.demos or {}).get(state.get("task_type") or "", "")
        demo = f"\nHere is a solved example of a similar task:\n{demo}\n" if demo else ""
        chat = task_messages(self.task, "act_json" if self.constrained else "act", ctx=ctx, goal=state["question"],
                             observation=state.get("opening") or "", demo=demo)
        note = ""  # in the first user turn: the system prompt stays in the KV cache
        if recalled := state.get("recalled"):
            note += f"From your memory of earlier tasks:\n{recalled}\n\n"
        if plan := state.get("plan"):
            note += f"Your plan:\n{plan}\n\n"
        if lessons := state.get("reflections"):
            note += ("You tried this task before and failed. Your lessons from those attempts:\n"
                     + "\n".join(f"- {lesson}" for lesson in lessons) + "\n\n")
        if note:
            chat[-1] = {**chat[-1], "content": note + chat[-1]["content"]}
        return chat

    def messages(self, state: ReActState, env: Any, ctx: RunContext, *, budget_scale: float = 1.0,
                 exclude: Collection[str] = ()) -> tuple[list[Message], int]:
        """The whole chat (and the new fold point), the valid actions but ``exclude`` listed last."""
        admissible = [a for a in state.get("admissible") or () if a not in exclude]
        shown = compact_actions(admissible, 0 if self.show_actions == "folded" else 1000) if admissible else ""
        tail = f"Valid actions: {shown}" if shown and self.show_actions != "none" else ""
        if state.get("notes") is not None:  # in the last turn only, like the valid actions: the prefix stays cached
            tail = f"{notebook(env).render(state['notes'])}\n{tail}".strip()
        layout = self.transcript if budget_scale == 1.0 else replace(self.transcript,
                                                                      budget=int(self.transcript.budget * budget_scale))
        return layout.messages(self.head(state, env, ctx), state.get("steps", []), state.get("folded", 0), tail)

    def schema(self, admissible: Sequence[str] | None, exclude: Collection[str]) -> dict[str, Any] | None:
        """The JSON schema of a constrained reply (``None`` when replies are free text)."""
        if not self.constrained or not admissible:
            return None
        actions = sorted(set(admissible) - set(exclude)) or sorted(set(admissible))
        return {"type": "object", "properties": {"thought": {"type": "string"}, "action": {"enum": actions}},
                "required": ["thought", "action"], "additionalProperties": False}


def notebook(env: Any) -> Any:
    """The environment's notebook (``env.notes``: ``start(task, opening)``, ``update(notes, action,
    observation)``, ``render(notes)``), for agents that track their state."""
    notes = getattr(env, "notes", None)
    if notes is None:
        raise UserError(f"track_state needs an environment that keeps notes from observations (alfworld); "
                        f"{getattr(env, 'name', type(env).__name__)} has none. Turn track_state off.")
    return notes


async def _ranked(ctx: RunContext, notes: Any, state: dict[str, Any]) -> dict[str, Any]:
    """The notes with the places to search ranked by the model's common sense, where the notebook asks
    (``search_question``) and the model can score; unchanged otherwise."""
    asked = notes.search_question(state) if hasattr(notes, "search_question") and ctx.model.can_score else None
    if asked is None:
        return state
    question, answers = asked
    try:
        scores = await ctx.score([{"role": "user", "content": question}], answers)
    except BudgetExceeded:  # no budget for it: search in the order the room lists its places
        return state
    return notes.search_order(state, scores.mean())


def make_reset(*, tools: Tools = (calculator,), track_state: bool = False, node: str = "reset"):
    """A node starting the episode: ``ctx.env.reset(state["task_id"])``, or, with no environment, the tools
    on ``state["question"]``; the opening observation and the admissible actions go into the state (and,
    with ``track_state``, the notes the environment's notebook starts from them)."""

    async def reset(state: ReActState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        if ctx.env is not None:
            obs = await ctx.env.reset(state.get("task_id"))
        else:
            obs = await ToolEnv(tools).reset(state["question"])
        if obs.text:
            runtime.stream_writer(Observation(node, obs.text))
        question = obs.task or state.get("question", "")
        update = {"question": question, "opening": obs.text,
                  "task_type": obs.info.task_type if obs.info else None, "admissible": obs.admissible,
                  "steps": [], "parse_failures": 0, "folded": 0, "done": False, "won": False, "reward": 0.0,
                  "stop_reason": "", "answer": None, "error": None}  # "" clears an earlier trial's reason
        if track_state:
            notes = notebook(ctx.env)
            update["notes"] = await _ranked(ctx, notes, notes.start(question, obs.text))
        return update

    reset.__name__ = node
    return reset


CHOOSE = ("generate", "score")


async def _action_values(ctx: RunContext, chat: list[Message], thought: str, candidates: Sequence[str],
                         per_token: bool) -> list[float]:
    """Each candidate's log-likelihood as the action after ``thought`` (per token, or summed)."""
    acting = [*chat, {"role": "assistant", "content": f"Thought: {thought}\nAction:"}]
    scores = await ctx.score(acting, [f" {a}\n" for a in candidates])
    return scores.mean() if per_token else list(scores.logprobs)


def _softmax(values: Sequence[float]) -> list[float]:
    top = max(values)
    weights = [math.exp(v - top) for v in values]
    total = sum(weights)
    return [w / total for w in weights]


async def _scored_reply(ctx: RunContext, chat: list[Message], state: ReActState, admissible: Sequence[str], *,
                        reply_tokens: int, per_token: bool, thought: str | None = None, lookahead: int = 0,
                        unsure_below: float = 0.5) -> tuple[str, str, bool]:
    """The thought the model writes (or ``thought``, when given), then the valid action it finds most likely
    after it (by the mean or summed log-probability of the action's tokens), skipping actions already taken
    in the same situation. With ``lookahead`` k, where the likeliest action has less than ``unsure_below`` of
    the probability, the model writes k more thoughts (sampled in one batched call) and the actions'
    probabilities after all of them are pooled. Returns the thought, the action and whether it looked ahead."""
    if thought is None:
        thinking = [*chat, {"role": "assistant", "content": "Thought:"}]
        completion = await ctx.generate(thinking, stop=["\nAction", "Action:", "\nObservation"],
                                        max_tokens=reply_tokens)
        thought = " ".join(completion.text.split())
    candidates = sorted(set(admissible))
    values = await _action_values(ctx, chat, thought, candidates, per_token)
    unsure = bool(lookahead) and max(_softmax(values)) < unsure_below
    if unsure:  # unsure: think again k ways, and pool
        thinking = [*chat, {"role": "assistant", "content": "Thought:"}]
        samples = await ctx.generate(thinking, n=lookahead, temperature=0.7, max_tokens=reply_tokens,
                                     stop=["\nAction", "Action:", "\nObservation"])
        pooled = _softmax(values)
        for text in samples.texts:
            more = _softmax(await _action_values(ctx, chat, " ".join(text.split()), candidates, per_token))
            pooled = [a + b for a, b in zip(pooled, more, strict=True)]
        values = pooled
    ranked = sorted(range(len(candidates)), key=lambda i: -values[i])
    steps, opening = state.get("steps", []), state.get("opening") or ""
    fresh = [candidates[i] for i in ranked if not stale_action(steps, opening, candidates[i])]
    return thought, fresh[0] if fresh else candidates[ranked[0]], unsure


def _notes_thought(env: Any, state: ReActState) -> str:
    """A thought written from the agent's notes: what the goal still needs (``need(notes)``)."""
    if state.get("notes") is None:
        raise UserError("thought='notes' needs track_state=True (the thought is written from the notes).")
    return notebook(env).thought(state["notes"])


def make_think(prompt: ActingPrompt, *, reply_tokens: int = 150, resamples: int = 2,
               resample_temperature: float = 0.8, choose: str = "generate", per_token: bool = True,
               thought: str = "model", lookahead: int = 0, unsure_below: float = 0.5,
               lookahead_tokens: int = 30000, node: str = "think"):
    """A node in which the model writes the next thought and action (a new step with an empty observation).

    A context overflow is retried once on half the budget, then ends the episode with that reason; an
    action already taken in the same situation is resampled up to ``resamples`` times at
    ``resample_temperature``, left out of the valid actions and named in a note.

    With ``choose="score"`` and an environment that lists its valid actions, the model writes only the
    thought; the action is the valid one the model finds most likely after it (``Model.score``: each
    action's log-likelihood, per token when ``per_token``, all of them on the prompt's KV cache), never one
    already taken in the same situation. Without a list of valid actions it generates as usual. With
    ``thought="notes"`` (and the agent tracking its state) the thought is not generated either: it is what
    the notes say the goal still needs, so a step costs only the scoring. ``lookahead`` k: at a step where
    the likeliest action has less than ``unsure_below`` of the probability, k more thoughts are sampled and
    the actions' probabilities after each pooled, while the episode's lookahead has spent fewer than
    ``lookahead_tokens`` tokens (``state["lookahead_tokens"]``)."""
    if thought not in ("model", "notes"):
        raise UserError(f"thought must be model or notes, got {thought!r}.")
    if thought == "notes" and choose != "score":
        raise UserError("thought='notes' writes the thought from the notes, so the action must be scored: "
                        "set choose='score' (and track_state=True).")
    thought_from = thought
    if choose not in CHOOSE:
        raise UserError(f"choose must be one of {', '.join(CHOOSE)}, got {choose!r}.")
    if choose == "score" and prompt.constrained:
        raise UserError("choose='score' already picks a valid action; turn constrained off.")

    @guard
    async def think(state: ReActState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx, steps = runtime.context, state.get("steps", [])
        before = ctx.spent
        env = _acting_env(ctx, state["question"], prompt.tools)
        options: dict[str, Any] = {"stop": ["\nObservation", "Observation:"], "max_tokens": reply_tokens}
        admissible = state.get("admissible")
        scored = choose == "score" and bool(admissible)
        for scale in (1.0, 0.5):
            chat, folded = prompt.messages(state, env, ctx, budget_scale=scale)
            try:
                if scored:
                    given = _notes_thought(env, state) if thought_from == "notes" else None
                    room = state.get("lookahead_tokens", 0) < lookahead_tokens
                    said, action, deliberated = await _scored_reply(ctx, chat, state, admissible or (), thought=given,
                                                       reply_tokens=reply_tokens, per_token=per_token,
                                                       lookahead=lookahead if room else 0,
                                                       unsure_below=unsure_below)
                else:
                    completion = await ctx.generate(chat, schema=prompt.schema(admissible, ()), **options)
                break
            except ContextOverflowError as e:
                overflow = str(e)
        else:
            reason = f"context overflow even after folding old steps: {overflow}"
            runtime.stream_writer(Stopped(reason))
            return {"stop_reason": reason}
        if scored:
            runtime.stream_writer(Thought(node, said))
            cost = _cost(before, ctx.spent)
            step: Step = {"thought": said, "action": action, "observation": "", "valid": True, "tokens": cost}
            update: dict[str, Any] = {"steps": [*steps, step], "folded": folded}
            if deliberated:
                update["lookahead_tokens"] = state.get("lookahead_tokens", 0) + sum(cost.values()) - cost["cached"]
            return update
        thought, action = _reply(completion, admissible)
        tried: list[str] = []
        for attempt in range(1, resamples + 1):
            if action is None or not stale_action(steps, state.get("opening") or "", action):
                break
            tried.append(action)  # left out of the list, and named in a note
            retry, _ = prompt.messages(state, env, ctx, budget_scale=scale, exclude=tried)
            nudge = f"\n(You already did '{action}' in this situation and it did not help. Choose another action.)"
            retry[-1] = {**retry[-1], "content": retry[-1]["content"] + nudge}
            try:
                completion = await ctx.generate(retry, temperature=resample_temperature, seed=attempt,
                                                schema=prompt.schema(admissible, tried), **options)
            except ContextOverflowError:
                break
            thought, action = _reply(completion, admissible)
        runtime.stream_writer(Thought(node, thought))
        step = {"thought": thought, "action": action, "observation": "", "valid": action is not None,
                "tokens": _cost(before, ctx.spent)}
        return {"steps": [*steps, step], "folded": folded}

    think.__name__ = node
    return think


def _cost(before: Any, after: Any) -> dict[str, int]:
    """The tokens spent between two readings of a run's usage."""
    return {"prompt": after.prompt_tokens - before.prompt_tokens, "cached": after.cached_tokens - before.cached_tokens,
            "completion": after.completion_tokens - before.completion_tokens,
            "scored": after.scored_tokens - before.scored_tokens}


def _repeats(steps: Sequence[Step]) -> int:
    """How many times in a row the last action was taken."""
    last, count = steps[-1]["action"], 0
    for step in reversed(steps):
        if step["action"] != last:
            break
        count += 1
    return count


def make_act(*, tools: Tools = (calculator,), constrained: bool = False, node: str = "act"):
    """A node playing the last step's action and writing what came back as its observation: the
    environment's answer (reward, done, won and the next admissible actions with it), or, for a reply
    without an action or an inadmissible one, an explanation (``parse_failures`` counts the former)."""

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
            result = await _acting_env(runtime.context, state["question"], tools).step(step["action"])
            step["observation"] = result.observation
            step["valid"] = not (result.info.get("invalid") or result.observation.startswith("Invalid action"))
            update.update(parse_failures=0, done=result.done, won=result.won,
                          reward=state.get("reward", 0.0) + result.reward)
            if result.admissible is not None:
                update["admissible"] = result.admissible
            if state.get("notes") is not None:
                update["notes"] = notebook(runtime.context.env).update(state["notes"], step["action"],
                                                                       result.observation)
            if result.done:
                update["answer"] = result.info.get("answer")
        repeats = _repeats(steps)  # type: ignore[arg-type]
        if repeats >= 3 and not update.get("done"):
            step["observation"] += repeat_hint(repeats)
        runtime.stream_writer(Action(node, step["action"] or "(none)", step["valid"]))
        runtime.stream_writer(Observation(node, step["observation"]))
        return update

    act.__name__ = node
    return act


def step_limit(max_steps: int, max_parse_failures: int) -> Callable[[ReActState], str | None]:
    """The loop's stopping rule: why an unfinished episode must stop now (``None``: it may go on)."""

    def limit(state: ReActState) -> str | None:
        if len(state.get("steps", [])) >= max_steps:
            return f"step limit reached ({max_steps} steps)"
        if state.get("parse_failures", 0) >= max_parse_failures:
            return f"{max_parse_failures} replies in a row had no action"
        return None

    return limit


def make_finish(limit: Callable[[ReActState], str | None], *, node: str = "finish"):
    """A node closing the episode: the stop reason (``limit``'s, when it ended unfinished) and the answer."""

    async def finish(state: ReActState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        reason = state.get("stop_reason")
        if not state.get("done") and not reason and (reason := limit(state)):
            runtime.stream_writer(Stopped(reason))
        answer = state.get("answer")
        why = "" if answer is not None or state.get("won") else (reason or "the episode ended without an answer")
        runtime.stream_writer(Answer(answer, why))
        return {"answer": answer, "error": why or None, "stop_reason": reason}

    finish.__name__ = node
    return finish
