"""What an ALFWorld agent has learned so far, kept from its own observations (StateAct/ReflAct-style state
tracking, done by code rather than by the small model): where it is, what it holds, what it has seen where,
which receptacles are closed or not yet searched, what it has cleaned, heated or cooled, and what the goal
still needs. Nothing is read from the simulator's hidden state: only the task, the opening and each
observation the agent was shown.

The notes are plain JSON (they live in the workflow's state, so a checkpointed run resumes with them);
``AlfWorldNotes.render`` writes them as a few lines for the prompt.

Example:
    >>> notes = AlfWorldNotes()
    >>> n = notes.start("put a clean apple in fridge.", "You are in the middle of a room. Looking quickly "
    ...                 "around you, you see a countertop 1, a fridge 1, and a sinkbasin 1.")
    >>> n = notes.update(n, "go to countertop 1", "You arrive at loc 3. On the countertop 1, you see a apple 1.")
    >>> n = notes.update(n, "take apple 1 from countertop 1", "You pick up the apple 1 from the countertop 1.")
    >>> print(notes.render(n))
    Your notes (from what you have seen):
    - You are at countertop 1, holding apple 1.
    - The goal still needs: clean the apple (with a sinkbasin); put the apple in/on a fridge.
    - Not searched yet: fridge 1, sinkbasin 1.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["AlfWorldNotes", "parse_goal"]

Notes = dict[str, Any]

_GOALS = [  # (pattern, kind); the object is group 1, the receptacle group 2 (none for "look")
    (r"put (?:a |some )?clean (\w+) (?:in|on|in/on) (?:the |a )?(\w+)", "clean"),
    (r"clean (?:a |some |the )?(\w+) and put it (?:in|on|in/on) (?:the |a )?(\w+)", "clean"),
    (r"put (?:a |some )?hot (\w+) (?:in|on|in/on) (?:the |a )?(\w+)", "heat"),
    (r"heat (?:a |some |the )?(\w+) and put it (?:in|on|in/on) (?:the |a )?(\w+)", "heat"),
    (r"put (?:a |some )?cool (\w+) (?:in|on|in/on) (?:the |a )?(\w+)", "cool"),
    (r"cool (?:a |some |the )?(\w+) and put it (?:in|on|in/on) (?:the |a )?(\w+)", "cool"),
    (r"put two (\w+) (?:in|on|in/on) (?:the |a )?(\w+)", "two"),
    (r"find two (\w+) and put them (?:in|on|in/on) (?:the |a )?(\w+)", "two"),
    (r"look at (?:a |some |the )?(\w+) under (?:the |a )?(\w+)", "look"),
    (r"examine (?:a |some |the )?(\w+) with (?:the |a )?(\w+)", "look"),
    (r"put (?:a |some |an )?(\w+) (?:in|on|in/on) (?:the |a )?(\w+)", "place"),
]
_TREAT = {"clean": ("clean", "sinkbasin"), "heat": ("heat", "microwave"), "cool": ("cool", "fridge")}
_DONE = {"clean": "cleaned", "heat": "heated", "cool": "cooled"}
_ITEMS = re.compile(r"(?:On the [^,]+?|In it), you see (.+?)\.(?:\s|$)")
_ARTICLE = re.compile(r"^(?:a|an|the|some)\s+")


def parse_goal(task: str) -> dict[str, str] | None:
    """The kind of goal (place, two, clean, heat, cool, look), its object type and its receptacle type
    (the lamp, for look), or ``None`` for a task this does not recognise.

    Example:
        >>> parse_goal("heat some egg and put it in garbagecan.")
        {'kind': 'heat', 'object': 'egg', 'target': 'garbagecan'}
    """
    text = " ".join(task.lower().split())
    for pattern, kind in _GOALS:
        if match := re.search(pattern, text):
            return {"kind": kind, "object": match.group(1), "target": match.group(2)}
    return None


def _kind(name: str) -> str:
    """``apple 1`` → ``apple``."""
    return re.sub(r"\s*\d+$", "", name.strip())


def _items(text: str) -> list[str]:
    """``a apple 1, a egg 1, and a tomato 1`` → ``["apple 1", "egg 1", "tomato 1"]`` (``nothing`` → [])."""
    text = text.strip()
    if text == "nothing":
        return []
    parts = re.split(r",\s*(?:and\s+)?|\s+and\s+", text)
    return [_ARTICLE.sub("", p.strip()) for p in parts if p.strip()]


class AlfWorldNotes:
    """Builds and renders an ALFWorld agent's notes (see the module docstring)."""

    def start(self, task: str, opening: str) -> Notes:
        """The notes at the start of an episode: the goal, and the receptacles the opening lists."""
        room = opening.split("Your task is to:")[0]
        seen = re.search(r"you see (.+?)\.(?:\s|$)", room, re.DOTALL)
        return {"goal": parse_goal(task), "receptacles": _items(seen.group(1)) if seen else [], "at": None,
                "holding": None, "contents": {}, "closed": [], "visited": [], "treated": {}, "placed": [],
                "lamp": False}

    def update(self, notes: Notes, action: str, observation: str) -> Notes:
        """The notes after ``action`` was answered with ``observation`` (a new dict; ``notes`` is kept)."""
        n = {**notes, "contents": dict(notes["contents"]), "closed": list(notes["closed"]),
             "visited": list(notes["visited"]), "treated": dict(notes["treated"]), "placed": list(notes["placed"])}
        act = action.strip().lower()
        text = " ".join(observation.split())
        if text.startswith("Nothing happens") or text.startswith("Invalid action"):
            return n
        if match := re.match(r"go to (.+)$", act):
            n["at"] = match.group(1)
            if n["at"] not in n["visited"]:
                n["visited"].append(n["at"])
        where = n["at"]
        if match := re.match(r"(?:open|close|examine) (.+)$", act):
            where = match.group(1)
        if where and f"The {where} is closed" in text and where not in n["closed"]:
            n["closed"].append(where)
        if where and (act.startswith("open ") or f"The {where} is open" in text) and where in n["closed"]:
            n["closed"].remove(where)
        if where and act.startswith("close ") and text.startswith("You close") and where not in n["closed"]:
            n["closed"].append(where)
        if where and (items := _ITEMS.search(text)):
            n["contents"][where] = _items(items.group(1))
        if match := re.match(r"You pick up the (.+?) from the (.+?)\.", text):
            obj, place = match.groups()
            n["holding"] = obj
            n["contents"][place] = [o for o in n["contents"].get(place, []) if o != obj]
        elif match := re.match(r"You (?:put|move) the (.+?) (?:in/on|in|on|to) the (.+?)\.", text):
            obj, place = match.groups()
            n["holding"] = None
            n["contents"][place] = [*n["contents"].get(place, []), obj]
            goal = n["goal"]
            if goal and _kind(obj) == goal["object"] and _kind(place) == goal["target"] and obj not in n["placed"]:
                n["placed"].append(obj)
        elif match := re.match(r"You (clean|heat|cool) the (.+?) using the (.+?)\.", text):
            verb, obj, _ = match.groups()
            n["treated"][obj] = sorted({*n["treated"].get(obj, []), verb})
        elif re.match(r"You turn on the (.+?)\.", text):
            n["lamp"] = True
        elif match := re.match(r"You are carrying: (.+?)\.", text):
            n["holding"] = _items(match.group(1))[0]
        elif text.startswith("You are not carrying anything"):
            n["holding"] = None
        return n

    def render(self, notes: Notes) -> str:
        """The notes as a few lines for the prompt."""
        held = notes["holding"]
        if held and (done := notes["treated"].get(held)):
            held = f"{held} ({', '.join(_DONE[d] for d in done)})"
        lines = [f"- You are {'at ' + notes['at'] if notes['at'] else 'in the middle of the room'}, "
                 f"{'holding ' + held if held else 'holding nothing'}."]
        goal = notes["goal"]
        if goal:
            if needs := self._needs(notes, goal):
                lines.append(f"- The goal still needs: {'; '.join(needs)}.")
            spotted = [f"{place} ({', '.join(o for o in objs if _kind(o) == goal['object'])})"
                       for place, objs in notes["contents"].items()
                       if any(_kind(o) == goal["object"] and o not in notes["placed"] for o in objs)
                       and not (goal["kind"] == "two" and _kind(place) == goal["target"])]
            if spotted and not (notes["holding"] and _kind(notes["holding"]) == goal["object"]):
                lines.append(f"- Seen {goal['object']} at: {'; '.join(spotted)}.")
        unsearched = [r for r in notes["receptacles"] if r not in notes["visited"]]
        if unsearched:
            lines.append(f"- Not searched yet: {_ranges(unsearched)}.")
        closed = [r for r in notes["closed"] if r not in notes["contents"]]
        if closed:
            lines.append(f"- Closed, not looked inside: {', '.join(closed)}.")
        return "Your notes (from what you have seen):\n" + "\n".join(lines)

    def thought(self, notes: Notes) -> str:
        """A one-line thought from the notes: the next thing the goal needs, and where to do it (a place
        where the object was seen, the receptacle here if it is closed, else places not searched yet)."""
        goal = notes["goal"]
        needs = self._needs(notes, goal) if goal else []
        if not goal:
            return "I will explore to find what the task needs."
        if not needs:
            return "The goal looks done."
        first, obj, at = needs[0], goal["object"], notes["at"]
        if first.startswith("put down"):
            return f"Next I must {first}: put it here, then go on."
        if first.startswith("take"):
            here = [o for o in notes["contents"].get(at, []) if _kind(o) == obj and o not in notes["placed"]] if at \
                else []
            if here and not (goal["kind"] == "two" and _kind(at) == goal["target"]):
                return f"Next I must {first}. There is {here[0]} here at {at}: take it."
            spotted = [place for place, objs in notes["contents"].items()
                       if any(_kind(o) == obj and o not in notes["placed"] for o in objs)
                       and not (goal["kind"] == "two" and _kind(place) == goal["target"])]
            if spotted:
                return f"Next I must {first}. I saw one at {spotted[0]}: go there."
            if at and at in notes["closed"]:
                return f"Next I must {first}. The {at} is closed: open it and look inside."
            return f"Next I must {first}. I have not seen one yet: search {self._unsearched(notes)}."
        place = goal["target"] if first.startswith("put") else _TREAT.get(goal["kind"], ("", ""))[1]
        if at and _kind(at) == place:
            if at in notes["closed"] and first.startswith("put"):
                return f"Next I must {first}. I am at {at}, which is closed: open it first."
            return f"Next I must {first}. I am at {at}: do it here."
        return f"Next I must {first}: go to a {place}."

    @staticmethod
    def _unsearched(notes: Notes) -> str:
        """A place or two the agent has not searched (the likeliest first, when ``search_order`` has ranked
        them), or ``somewhere I have not looked inside`` when it has searched them all."""
        order = {kind: i for i, kind in enumerate(notes.get("order") or [])}
        unsearched = sorted((r for r in notes["receptacles"] if r not in notes["visited"]),
                            key=lambda r: order.get(_kind(r), len(order)))
        return " or ".join(unsearched[:2]) if unsearched else "somewhere I have not looked inside"

    def search_question(self, notes: Notes) -> tuple[str, list[str]] | None:
        """A question whose answer ranks the kinds of receptacle by where the goal's object is likely to be
        (the model's common sense, asked once an episode), and the answers to score; ``None`` without a goal."""
        goal, kinds = notes["goal"], sorted({_kind(r) for r in notes["receptacles"]})
        if not goal or len(kinds) < 2:
            return None
        return (f"In a household, where is a {goal['object']} most likely to be found? Answer with one place.",
                [f"The {kind}" for kind in kinds])

    def search_order(self, notes: Notes, scores: list[float]) -> Notes:
        """The notes with the receptacle kinds ranked by ``scores`` (of ``search_question``'s answers)."""
        kinds = sorted({_kind(r) for r in notes["receptacles"]})
        ranked = [kind for _, kind in sorted(zip(scores, kinds, strict=True), key=lambda p: -p[0])]
        return {**notes, "order": ranked}

    @staticmethod
    def _needs(notes: Notes, goal: dict[str, str]) -> list[str]:
        obj, target, kind = goal["object"], goal["target"], goal["kind"]
        held = notes["holding"]
        holding = bool(held) and _kind(held) == obj
        if kind == "look":
            if notes["lamp"] and holding:
                return []
            drop = [f"put down the {held} (you can carry one thing at a time)"] if held and not holding else []
            return drop + ([] if holding else [f"take a {obj}"]) + [f"use a {target} while holding it"]
        needs: list[str] = []
        if held and not holding:
            needs.append(f"put down the {held} (you can carry one thing at a time)")
        wanted = 2 if kind == "two" else 1
        placed = len(notes["placed"])
        if placed >= wanted:
            return needs
        if not holding:
            needs.append(f"take {'another' if placed else 'a'} {obj}")
        if kind in _TREAT:
            verb, tool = _TREAT[kind]
            if not (holding and verb in notes["treated"].get(held, [])):
                needs.append(f"{verb} the {obj} (with a {tool})")
        needs.append(f"put the {obj} in/on a {target}" + (f" ({placed} of 2 there)" if kind == "two" else ""))
        return needs


def _ranges(names: list[str]) -> str:
    """``cabinet 1, cabinet 2, cabinet 3, fridge 1`` → ``cabinet 1-3, fridge 1``."""
    groups: dict[str, list[int]] = {}
    order: list[str] = []
    for name in names:
        match = re.match(r"^(.*?) (\d+)$", name)
        stem, number = (match.group(1), int(match.group(2))) if match else (name, -1)
        if stem not in groups:
            order.append(stem)
        groups.setdefault(stem, []).append(number)
    out = []
    for stem in order:
        numbers = sorted(groups[stem])
        if numbers == [-1]:
            out.append(stem)
        elif len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
            out.append(f"{stem} {numbers[0]}-{numbers[-1]}")
        else:
            out.extend(f"{stem} {n}" for n in numbers)
    return ", ".join(out)
