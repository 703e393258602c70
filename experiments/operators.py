"""Search operators: small functions from design(s) to a new design. None of them runs generated code.

* ``parameter``: one numeric setting moves within its bounds (a workflow option in ``BOUNDS``, the
  temperature, the generation limit, the number of demonstrations, the verifier's aggregation).
* ``structure``: the workflow kind changes among those that fit the target, or a module is toggled (the
  verifier, the planner, the critic, a debate, memory recall).
* ``section``: one unlocked prompt section is replaced by an alternative from the library
  (``experiments/sections.yaml``).
* ``rules``: the experience memory's strongest insights become a ``rules`` section of the solving prompt.
* ``reflect``: a proposer model reads a few failing episodes and their feedback and rewrites one unlocked
  section (GEPA-style); a rewrite that copies the examples, or is not a usable section, is refused.
* ``crossover``: each section of the child comes from one parent or the other.

Each returns a validated ``Design`` or raises ``OperatorError`` (the search counts and discards it); an
invalid design an operator would make is a ``DesignError``, counted the same way.

Example:
    >>> import random
    >>> from agentkit.experiments.designs import Design
    >>> seed = Design.from_data({"schema": 1, "workflow": {"kind": "sc", "options": {"n": 4}}})
    >>> child = parameter(seed, random.Random(3))
    >>> child.parents == [seed.id], child.id != seed.id
    (True, True)
"""

from __future__ import annotations

import copy
import functools
import inspect
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from agentkit.errors import UserError
from agentkit.experiments.designs import BOUNDS, REASONING, Design
from agentkit.templates import find_prompt, render
from agentkit.workflows.registry import get_builder

__all__ = [
    "Failure",
    "OperatorError",
    "copies_examples",
    "crossover",
    "parameter",
    "reflect",
    "rules",
    "section",
    "section_library",
    "structure",
]

Rng = random.Random
_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.7, 0.8, 1.0)
_MAX_TOKENS = (256, 384, 512, 768, 1024)
_VERIFYING = ("best-of-n", "tot", "mcts", "got", "reflexion")


class OperatorError(UserError):
    """The operator has nothing to do on this design (no section to rewrite, no insight to use) or its
    result was refused (a proposer reply that copies the examples)."""


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed episode a reflective rewrite reads: the task, what the agent did, what came back."""

    task: str
    output: str
    feedback: str


def _child(design: Design, data: dict[str, Any], how: str) -> Design:
    data["parents"] = [design.id]
    data["name"] = f"{design.name.split('+')[0]}+{how}"
    data.pop("notes", None)
    return Design.from_data(data)


def _defaults(kind: str) -> dict[str, Any]:
    params = inspect.signature(get_builder(kind)).parameters
    return {name: p.default for name, p in params.items() if p.default is not inspect.Parameter.empty}


def parameter(design: Design, rng: Rng) -> Design:
    """Move one numeric setting within its bounds."""
    data = copy.deepcopy(dict(design.data))
    kind, options = design.kind, data["workflow"]["options"]
    defaults = _defaults(kind)
    choices: list[str] = [f"option:{name}" for name in BOUNDS[kind]]
    choices += ["temperature", "max_tokens", "demos"]
    if data["verifier"]["kind"] != "none":
        choices.append("aggregate")
    pick = rng.choice(choices)
    if pick.startswith("option:"):
        name = pick.split(":", 1)[1]
        low, high = BOUNDS[kind][name]
        current = options.get(name, defaults.get(name))
        if current is None:
            current = low
        if isinstance(low, int) and isinstance(high, int) and isinstance(current, int):
            moved = current + rng.choice((-1, 1)) * max(1, round(abs(current) * 0.5) if rng.random() < 0.5 else 1)
            options[name] = min(high, max(low, moved))
            if options[name] == current:
                options[name] = min(high, current + 1) if current < high else max(low, current - 1)
        else:
            options[name] = round(min(high, max(low, float(current) + rng.choice((-0.2, 0.2)))), 2)
        how = f"{name}={options[name]}"
    elif pick == "temperature":
        data["sampling"]["temperature"] = rng.choice([t for t in _TEMPERATURES if t != data["sampling"]["temperature"]])
        how = f"t={data['sampling']['temperature']}"
    elif pick == "max_tokens":
        data["sampling"]["max_tokens"] = rng.choice([m for m in _MAX_TOKENS if m != data["sampling"]["max_tokens"]])
        how = f"max_tokens={data['sampling']['max_tokens']}"
    elif pick == "demos":
        top = 1 if design.acting else 8
        data["demos"]["count"] = rng.choice([c for c in range(top + 1) if c != data["demos"]["count"]])
        how = f"demos={data['demos']['count']}"
    else:
        data["verifier"]["aggregate"] = rng.choice([a for a in ("last", "min", "prod", "mean")
                                                    if a != data["verifier"]["aggregate"]])
        how = f"aggregate={data['verifier']['aggregate']}"
    return _child(design, data, how)


#: ReAct's modules a structure move switches (``workflows/react.py``), with their on and off values
_ACTING_MODULES = {"choose": ("score", "generate"), "track_state": (True, False), "trials": (3, 1),
                   "lookahead": (3, 0), "thought": ("notes", "model")}


def _toggle_acting(options: dict[str, Any], move: str) -> str:
    """Switch one of ReAct's modules in ``options``, dropping what no longer fits (a thought written from
    the notes needs scored actions and tracked state; lookahead needs scored actions)."""
    on, off = _ACTING_MODULES[move]
    value = off if options.get(move, off) == on else on
    options[move] = value
    if options.get("choose", "generate") != "score":
        options.pop("lookahead", None)
        options.pop("thought", None)
    if not options.get("track_state"):
        options.pop("thought", None)
    return f"{move}={value}"


def structure(design: Design, rng: Rng, *, memory: bool = False) -> Design:
    """Switch the workflow kind among those that fit the target, or toggle one module."""
    data = copy.deepcopy(dict(design.data))
    roles = data["roles"]
    if design.acting:
        options = data["workflow"].setdefault("options", {})
        scored = options.get("choose") == "score"
        moves = ["planner", "critic", "choose", "track_state", "trials"] + (["memory"] if memory else []) + \
            (["lookahead"] + (["thought"] if options.get("track_state") else []) if scored else [])
        move = rng.choice(moves)
        if move in _ACTING_MODULES:
            return _child(design, data, _toggle_acting(options, move))
        where = data["memory"] if move == "memory" else roles
        key = "recall" if move == "memory" else move
        where[key] = not where[key]
        return _child(design, data, f"{move}={'on' if where[key] else 'off'}")
    moves = ["kind", "planner"] + (["verifier"] if design.kind in _VERIFYING else []) + \
        (["debate"] if design.kind == "cot" else [])
    move = rng.choice(moves)
    if move == "kind":
        kind = rng.choice([k for k in REASONING if k != design.kind])
        data["workflow"] = {"kind": kind, "options": {}}
        roles.pop("debate", None)
        if kind not in _VERIFYING:
            data["verifier"] = {"kind": "none", "aggregate": "last"}
        how = f"kind={kind}"
    elif move == "planner":
        roles["planner"] = not roles["planner"]
        roles.pop("debate", None)
        how = f"planner={'on' if roles['planner'] else 'off'}"
    elif move == "debate":
        if "debate" in roles:
            roles.pop("debate")
        else:
            roles["debate"], roles["planner"] = {"rounds": 1}, False
        how = f"debate={'on' if 'debate' in roles else 'off'}"
    else:
        data["verifier"]["kind"] = rng.choice([v for v in ("none", "task", "llm") if v != data["verifier"]["kind"]])
        how = f"verifier={data['verifier']['kind']}"
    return _child(design, data, how)


@functools.cache
def section_library() -> dict[str, dict[str, dict[str, list[str]]]]:
    """The packaged alternatives: template -> role -> section id -> texts."""
    text = (resources.files("agentkit.experiments") / "sections.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _unlocked(design: Design) -> list[tuple[str, str, int]]:
    return [(name, role, i) for name, roles in design.data["prompts"].items() for role, sections in roles.items()
            for i, s in enumerate(sections) if not s.get("locked")]


def section(design: Design, rng: Rng, library: Mapping[str, Any] | None = None) -> Design:
    """Replace one unlocked section by an alternative from ``library`` (default: the packaged one)."""
    library = section_library() if library is None else library
    spots = [(n, r, i) for n, r, i in _unlocked(design)
             if library.get(n, {}).get(r, {}).get(design.data["prompts"][n][r][i]["id"])]
    if not spots:
        raise OperatorError("no unlocked section has alternatives in the library")
    name, role, i = rng.choice(spots)
    data = copy.deepcopy(dict(design.data))
    sec = data["prompts"][name][role][i]
    options = [t for t in library[name][role][sec["id"]] if t.strip() != sec["text"].strip()]
    if not options:
        raise OperatorError(f"the library has no other text for {name}.{role}.{sec['id']}")
    sec["text"] = rng.choice(options).strip()
    return _child(design, data, f"section:{sec['id']}")


def _solving_prompt(design: Design) -> tuple[str, str]:
    """The template and role a rules section goes into: the first prompt the design lays out in sections."""
    for name, roles in design.data["prompts"].items():
        if "system" in roles:
            return name, "system"
    raise OperatorError("the design lays out no system prompt in sections")


def rules(design: Design, insights: Sequence[str], *, top: int = 5) -> Design:
    """Put the memory's strongest insights (``insights``, strongest first) in a ``rules`` section."""
    if not insights:
        raise OperatorError("the memory holds no insights")
    name, role = _solving_prompt(design)
    data = copy.deepcopy(dict(design.data))
    sections = [s for s in data["prompts"][name][role] if s["id"] != "rules"]
    text = "Rules learned from earlier tasks:\n" + "\n".join(f"- {_escape(i)}" for i in insights[:top])
    sections.insert(max(0, len(sections) - 1), {"id": "rules", "text": text})
    data["prompts"][name][role] = sections
    return _child(design, data, "rules")


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


_WORDS = re.compile(r"[a-z0-9']+")
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")


def copies_examples(text: str, failures: Sequence[Failure], *, n: int = 6) -> str | None:
    """Why ``text`` copies the examples (a run of ``n`` words from a task or an output, or a number the
    examples state that the original did not need), or ``None`` when it does not.

    Example:
        >>> f = [Failure("Tom has 17 apples and gives away 5 of them to his sister", "12", "wrong (the reference is 13)")]
        >>> copies_examples("Check how many apples Tom gives away to his sister.", f)
        >>> copies_examples("Tom has 17 apples and gives away some.", f)
        "it repeats 'tom has 17 apples and gives' from an example"
        >>> copies_examples("If the answer is 13, say so.", f)
        "it contains the example's number 13"
    """
    words = _WORDS.findall(text.lower())
    grams = {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}
    for f in failures:
        source = _WORDS.findall(f"{f.task} {f.output}".lower())
        for i in range(len(source) - n + 1):
            gram = " ".join(source[i:i + n])
            if gram in grams:
                return f"it repeats '{gram}' from an example"
    numbers = {x.replace(",", "") for f in failures for x in _NUMBER.findall(f"{f.task} {f.feedback}")}
    for x in _NUMBER.findall(text):
        if x.replace(",", "") in numbers and len(x.replace(",", "")) >= 2:
            return f"it contains the example's number {x}"
    return None


async def reflect(design: Design, rng: Rng, proposer: Any, failures: Sequence[Failure], *, shown: int = 3,
                  max_chars: int = 600) -> Design:
    """Ask ``proposer`` (a model) to rewrite one unlocked section after reading ``shown`` failures."""
    spots = _unlocked(design)
    if not spots:
        raise OperatorError("the design has no unlocked prompt section to rewrite")
    if not failures:
        raise OperatorError("no failing episodes to learn from")
    name, role, i = rng.choice(spots)
    examples = rng.sample(list(failures), min(shown, len(failures)))
    sections = design.data["prompts"][name][role]
    shown = [_unescape(s["text"]) for s in sections]  # as the agent reads them: {{ }} are literal braces
    marked = "\n".join(f">>> {text} <<<" if j == i else text for j, text in enumerate(shown))
    told = "\n\n".join(f"Task: {f.task}\nThe agent's output (end): {f.output[-600:]}\nWhat went wrong: {f.feedback}"
                       for f in examples)
    messages = render(find_prompt("propose_section"), instructions=marked, failures=told)  # values go in verbatim
    completion = await proposer.generate(messages, max_tokens=200, temperature=0.7,
                                         seed=rng.randrange(1 << 30))
    text = _clean(completion.text)
    if not text or len(text) > max_chars:
        raise OperatorError(f"the proposer's reply is not a usable section ({len(text)} characters)")
    if why := copies_examples(text, examples):
        raise OperatorError(f"the proposer's rewrite was refused: {why}")
    data = copy.deepcopy(dict(design.data))
    data["prompts"][name][role][i]["text"] = _escape(text)
    return _child(design, data, f"reflect:{sections[i]['id']}")


def _unescape(template: str) -> str:
    return template.replace("{{", "{").replace("}}", "}")


_PREAMBLE = re.compile(r"^(certainly|sure|here(’|')?s|here is|new (section|text)|the new|revised)\b[^\n]*:\s*$",
                       re.IGNORECASE)


def _clean(text: str) -> str:
    """The section a proposer's reply holds: without a preamble line ("Here is the revised section:"),
    rules (``---``), quotes, bold or the >>> <<< marks, and without the comment after it (its first
    paragraph is the section).

    Example:
        >>> _clean('Certainly! Here is the revised version:\\n\\n---\\n\\n**Check each step twice.**\\n\\n---\\n\\nThis helps.')
        'Check each step twice.'
    """
    lines = [line for line in text.strip().strip("`").splitlines() if line.strip() != "---"]
    while lines and (not lines[0].strip() or _PREAMBLE.match(lines[0].strip())):
        lines.pop(0)
    first = "\n".join(lines).strip().split("\n\n")[0]
    first = first.replace(">>>", "").replace("<<<", "").strip()
    return first.strip("*").strip().strip('"').strip()


def crossover(a: Design, b: Design, rng: Rng) -> Design:
    """A child whose every section comes from ``a`` or ``b`` (its parents both)."""
    sections = [k for k in a.data if k not in ("name", "notes", "parents", "schema")]
    data = copy.deepcopy(dict(a.data))
    for key in sections:
        if rng.random() < 0.5:
            data[key] = copy.deepcopy(b.data.get(key, data[key]))
    data["parents"], data["name"] = [a.id, b.id], f"{a.name.split('+')[0]}x{b.name.split('+')[0]}"
    child = Design.from_data(data)
    if child.id in (a.id, b.id):
        raise OperatorError("the crossover child is one of its parents")
    return child


#: Operators that need nothing but the design and a random source.
BASIC: dict[str, Callable[..., Design]] = {"parameter": parameter, "structure": structure, "section": section}
