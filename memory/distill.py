"""The memory's write path beyond recording: reflections, insights (ExpeL operations) and concepts.

* ``reflect``: a failed trajectory → a short lesson (Reflexion), linked to it.
* ``distill_insights``: for failures that have a successful trajectory of the same task type, the model
  compares the pair against the current rules and answers with operations (ADD / EDIT n / UPVOTE n /
  DOWNVOTE n / REMOVE n), applied by ``apply_operations``. An ADD that repeats an existing rule (cosine ≥
  ``MERGE_SIMILARITY``) upvotes it instead; an EDIT keeps the old wording in the rule's history; a rule voted
  down to zero is removed.
* ``location_concepts``: where objects of a kind were seen, counted over trajectories (ALFWorld wording);
  ``distill_concepts``: the model's own abstractions from successful trajectories.

Malformed model output is skipped line by line, never an error.

Example:
    >>> parse_operations("ADD: Open containers first.\\nEDIT 2: Check shelves.\\nUPVOTE 1\\nDELETE 3\\nUPVOTE 9", 2)
    [Operation(op='ADD', number=None, text='Open containers first.'), Operation(op='EDIT', number=2, text='Check shelves.'), Operation(op='UPVOTE', number=1, text='')]
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from agentkit.memory.records import Concept, Insight, Reflection, TrajectoryRecord
from agentkit.memory.retrieve import render_trajectory
from agentkit.models.base import Completion
from agentkit.templates import render

if TYPE_CHECKING:
    from agentkit.memory.experience import Memory

__all__ = ["MERGE_SIMILARITY", "Operation", "apply_operations", "distill_concepts", "distill_insights",
           "location_concepts", "parse_concepts", "parse_operations", "reflect", "write_lesson"]

MERGE_SIMILARITY = 0.9
_OPERATION = re.compile(r"^\W*(?:\d+[.)]\s*)?(ADD|EDIT|UPVOTE|DOWNVOTE|REMOVE)\s*(?:rule\s*)?#?(\d+)?\s*:?\s*(.*)$", re.IGNORECASE)
_CONCEPT = re.compile(r"^\W*(?:\d+[.)]\s*)?CONCEPT\s+(.+?)\s*:\s*(.+)$", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"<[^<>]*>")  # the prompt's "<the fact, one sentence>", copied instead of filled in
_MAX_STEPS_SHOWN = 30


class Generator(Protocol):
    """A ``Model`` or a ``RunContext`` (which counts the calls against the run's budget)."""

    async def generate(self, messages: Any, **options: Any) -> Completion: ...


@dataclass(frozen=True, slots=True)
class Operation:
    """One insight operation; ``number`` is the 1-based position in the rules shown to the model."""

    op: str
    number: int | None
    text: str


def parse_operations(text: str, rules: int, *, limit: int = 3) -> list[Operation]:
    """The first ``limit`` well-formed operations in a reply (numbers must name one of the ``rules`` shown).
    Small models tend to echo one operation of every kind; the limit keeps that from churning the rules."""
    out = []
    for line in text.splitlines():
        match = _OPERATION.match(line.strip())
        if not match:
            continue
        op, number, rest = match.group(1).upper(), match.group(2), match.group(3).strip()
        if _PLACEHOLDER.search(rest):
            continue
        if op == "ADD":
            if rest and number is None:
                out.append(Operation(op, None, rest))
        elif number is not None and 1 <= int(number) <= rules and (op != "EDIT" or rest):
            out.append(Operation(op, int(number), rest if op == "EDIT" else ""))
    return out[:limit]


def parse_concepts(text: str) -> list[tuple[str, str]]:
    """``(name, fact)`` of each ``CONCEPT name: fact`` line (not the format's own placeholders)."""
    return [(m.group(1).strip(), m.group(2).strip()) for line in text.splitlines()
            if (m := _CONCEPT.match(line.strip())) and not _PLACEHOLDER.search(line)]


async def _ask(model: Generator, prompt: str, max_tokens: int, **values: str) -> str:
    template = getattr(model, "template", None)  # a RunContext: the run's prompt override, when it has one
    chosen = template(prompt) if template is not None else prompt
    completion = await model.generate(render(chosen, package="agentkit.memory", **values), temperature=0.0,
                                      max_tokens=max_tokens)
    return completion.text.strip()


async def write_lesson(trajectory: TrajectoryRecord, model: Generator, *, reason: str = "") -> str:
    """The lesson of a failed trajectory, in a sentence or two (Reflexion's self-reflection)."""
    steps = render_trajectory(trajectory, max_steps=_MAX_STEPS_SHOWN).split("\n", 1)[-1]
    text = await _ask(model, "reflect_episode", 120, task=trajectory.task, steps=steps,
                      reason=reason or "the task was not completed")
    return re.sub(r"^\s*(lesson|reflection)\s*:\s*", "", text, flags=re.IGNORECASE) or "(no lesson)"


async def reflect(memory: Memory, trajectory: TrajectoryRecord, model: Generator, *, reason: str = "") -> Reflection:
    """Write (and store) the lesson of a failed, stored trajectory."""
    text = await write_lesson(trajectory, model, reason=reason)
    reflection = Reflection(trajectory_id=trajectory.id, task=trajectory.task, text=text, env=trajectory.env,
                            task_type=trajectory.task_type)
    await memory.aadd(reflection)
    return reflection


def apply_operations(memory: Memory, operations: Sequence[Operation], rules: Sequence[Insight], *,
                     env: str = "", sources: Sequence[int] = ()) -> dict[str, int]:
    """Apply operations to the ``rules`` they were numbered against; returns counts of what happened."""
    done = {"added": 0, "merged": 0, "edited": 0, "upvoted": 0, "downvoted": 0, "removed": 0}
    now = time.time()
    gone: set[int] = set()
    for operation in operations:
        if operation.op == "ADD":
            near = [(r, s) for r, s in memory.search(operation.text, kind="insight", k=1)
                    if s >= MERGE_SIMILARITY and r.id not in gone]
            if near:
                rule = near[0][0]
                rule.strength += 1
                rule.sources = sorted({*rule.sources, *sources})
                rule.history.append({"op": "merge", "text": operation.text, "at": now})
                memory.add(rule)
                done["merged"] += 1
            else:
                memory.add(Insight(text=operation.text, env=env, sources=list(sources),
                                   history=[{"op": "add", "at": now}]))
                done["added"] += 1
            continue
        rule = memory.get(rules[operation.number - 1].id)
        if rule is None or rule.id in gone:
            continue
        if operation.op == "EDIT":
            rule.history.append({"op": "edit", "old": rule.text, "at": now})
            rule.text, rule.strength = operation.text, rule.strength + 1
            done["edited"] += 1
            twin = [r for r, s in memory.search(rule.text, kind="insight", k=2)
                    if s >= MERGE_SIMILARITY and r.id != rule.id and r.id not in gone]
            if twin:  # reworded into another rule: one rule, with both strengths and histories
                other = twin[0]
                other.strength += rule.strength
                other.pinned = other.pinned or rule.pinned
                other.sources = sorted({*other.sources, *rule.sources, *sources})
                other.history += [*rule.history, {"op": "merge", "text": rule.text, "at": now}]
                memory.add(other)
                memory.delete(rule.id)
                gone.add(rule.id)
                done["merged"] += 1
                continue
        elif operation.op == "UPVOTE":
            rule.strength += 1
            rule.history.append({"op": "upvote", "at": now})
            done["upvoted"] += 1
        else:  # DOWNVOTE or REMOVE
            rule.strength = 0 if operation.op == "REMOVE" else rule.strength - 1
            rule.history.append({"op": operation.op.lower(), "at": now})
            done["downvoted" if operation.op == "DOWNVOTE" else "removed"] += 1
        if rule.strength <= 0 and rule.pinned:  # the user keeps it: distillation may weaken it, not drop it
            rule.strength = 1
        if rule.strength <= 0:
            memory.delete(rule.id)
            gone.add(rule.id)
            done["removed"] += operation.op == "DOWNVOTE"
        else:
            rule.sources = sorted({*rule.sources, *sources})
            memory.add(rule)
    return done


async def distill_insights(memory: Memory, model: Generator, *, env: str | None = None, pairs: int = 10,
                           max_rules: int = 12) -> dict[str, int]:
    """Compare up to ``pairs`` failures not compared before (the newest first) with the most similar success
    of the same task type, and apply the model's operations. Returns the counts of what happened."""
    totals: dict[str, int] = {}
    failures = [t for t in memory.store.list("trajectory", env=env, won=False) if not t.distilled][-pairs:]
    for failure in reversed(failures):
        successes = [r for r, _ in memory.search(failure.key, kind="trajectory", k=5, env=failure.env, won=True)
                     if r.task_type == failure.task_type]
        if not successes:
            continue
        rules = sorted(memory.store.list("insight"), key=lambda r: -r.strength)[:max_rules]
        shown = "\n".join(f"{n}. {r.text}" for n, r in enumerate(rules, 1)) or "(none yet)"
        reply = await _ask(model, "insights", 200, rules=shown,
                           success=render_trajectory(successes[0], max_steps=_MAX_STEPS_SHOWN),
                           failure=render_trajectory(failure, max_steps=_MAX_STEPS_SHOWN))
        counts = apply_operations(memory, parse_operations(reply, len(rules)), rules, env=failure.env,
                                  sources=[successes[0].id, failure.id])
        failure.distilled = True
        memory.add(failure)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals


_SEEN = re.compile(r"(?:on|in) the ([a-z]+(?: [a-z]+)*) \d+, you see (.+?)(?:\.|$)", re.IGNORECASE)
_OPENED = re.compile(r"you open the ([a-z]+(?: [a-z]+)*) \d+\. .*?in it, you see (.+?)(?:\.|$)", re.IGNORECASE)
_THING = re.compile(r"(?:an? )?([a-z]+(?: [a-z]+)*?) \d+")


def location_concepts(memory: Memory, *, env: str = "alfworld", min_support: int = 2) -> int:
    """Count where each kind of object was seen in ``env``'s trajectories and store one concept per kind
    (``where to find a mug``), updating earlier ones. Returns how many concepts were written."""
    places: dict[str, dict[str, set[int]]] = {}
    for trajectory in memory.store.list("trajectory", env=env):
        for step in trajectory.steps:
            text = str(step.get("observation", ""))
            for place, things in _SEEN.findall(text) + _OPENED.findall(text):
                for thing in _THING.findall(things):
                    places.setdefault(thing.lower(), {}).setdefault(place.lower(), set()).add(trajectory.id)
    existing = {c.name: c for c in memory.store.list("concept", env=env)}
    written = 0
    for thing, where in sorted(places.items()):
        support = {t for ids in where.values() for t in ids}
        if len(support) < min_support:
            continue
        ranked = sorted(where.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:4]
        name = f"where to find a {thing}"
        text = f"a {thing} was seen in/on " + ", ".join(f"the {p} ({len(ids)}x)" for p, ids in ranked)
        concept = existing.get(name) or Concept(name=name, text=text, env=env)
        if concept.id is not None and concept.text == text and concept.support == len(support):
            continue
        concept.text, concept.support, concept.sources = text, len(support), sorted(support)[:20]
        memory.add(concept)
        written += 1
    return written


async def distill_concepts(memory: Memory, model: Generator, *, env: str, episodes: int = 4) -> list[Concept]:
    """Ask the model for general facts drawn from the latest successful trajectories of ``env``."""
    successes = memory.store.list("trajectory", env=env, won=True)[-episodes:]
    if not successes:
        return []
    shown = "\n\n".join(render_trajectory(t, max_steps=_MAX_STEPS_SHOWN) for t in successes)
    existing = {c.name.lower(): c for c in memory.store.list("concept", env=env)}
    out = []
    for name, text in parse_concepts(await _ask(model, "concepts", 200, episodes=shown))[:3]:
        concept = existing.get(name.lower())
        if concept is None:  # a fact already known under another name is the same concept
            near = [c for c, score in memory.search(f"{name}: {text}", kind="concept", k=1, env=env)
                    if score >= MERGE_SIMILARITY]
            concept = near[0] if near else Concept(name=name, text=text, env=env, support=0)
        else:
            concept.text = text
        concept.support += 1
        concept.sources = sorted({*concept.sources, *(t.id for t in successes)})[-20:]
        memory.add(concept)
        existing[concept.name.lower()] = concept
        out.append(concept)
    return out
