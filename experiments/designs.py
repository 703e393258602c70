"""Agent designs as data: one YAML/JSON document names everything an agent is, and nothing runs but known nodes.

A design says which workflow plays (and its options), the prompt sections it renders (some locked, such as
the output format a scorer reads), how many demonstrations it is shown, what it recalls from the experience
memory, which verifier scores its candidates, which collaboration roles join it (a planner that writes a
plan first, a critic that may veto or revise an action, a two-agent debate), its sampling and its budget per
episode. It is validated against a versioned JSON Schema (``SCHEMA``), then against what the workflows
accept (option names and bounds, prompt fields), and identified by the hash of its canonical form (``id``):
two designs that differ only in name, notes, parents or key order, or in spelling out a default, are one.

A design never contains code. ``eval_config`` turns it into the ``EvalConfig`` of a run on a target (a
reasoning task or an environment), so ``run_eval`` and ``agentkit eval --design`` play it, and the graph is
built by the workflow registry from the packaged builders only.

Example:
    >>> d = Design.from_data({"schema": 1, "name": "sc4", "workflow": {"kind": "sc", "options": {"n": 4}}})
    >>> d.id == Design.from_data({"schema": 1, "workflow": {"kind": "sc", "options": {"n": 4}},
    ...                           "sampling": {"temperature": 0.0}}).id
    True
    >>> d.eval_config(task="gsm8k").workflow, d.eval_config(task="gsm8k").options
    ('sc', {'n': 4})
    >>> Design.from_data({"schema": 1, "workflow": {"kind": "sc", "options": {"n": 99}}})
    Traceback (most recent call last):
    ...
    agentkit.experiments.designs.DesignError: workflow.options.n: 99 is out of bounds for sc (1 to 16).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from agentkit.errors import UserError
from agentkit.experiments.config import ConfigError, EvalConfig
from agentkit.templates import check_prompts, find_prompt
from agentkit.workflows.registry import get_builder

__all__ = ["BOUNDS", "REASONING", "SCHEMA", "Design", "DesignError", "load_design"]

SCHEMA_VERSION = 1
#: Workflows that answer a reasoning task's question; ``react`` acts in an environment.
REASONING = ("cot", "sc", "best-of-n", "tot", "got", "mcts", "reflexion")
ACTING = ("react",)
#: A parameter's bounds, per workflow (what validation allows and what operators may change).
BOUNDS: dict[str, dict[str, tuple[float, float]]] = {
    "cot": {},
    "sc": {"n": (1, 16), "temperature": (0.1, 1.2)},
    "best-of-n": {"n": (1, 16), "temperature": (0.1, 1.2)},
    "tot": {"breadth": (1, 5), "width": (1, 5), "k": (1, 5), "max_depth": (1, 12), "n_evaluate": (1, 3)},
    "mcts": {"iterations": (1, 16), "k": (1, 5), "max_depth": (1, 12), "c": (0.1, 3.0)},
    "got": {"k": (1, 8), "keep": (1, 4), "refine_rounds": (0, 3), "temperature": (0.1, 1.2)},
    "reflexion": {"max_trials": (1, 5), "pass_score": (0.1, 1.0)},
    "react": {"max_steps": (1, 100), "context_tokens": (1000, 8000), "reply_tokens": (32, 400),
              "resamples": (0, 4), "trials": (1, 5), "lookahead": (0, 5), "unsure_below": (0.1, 0.9)},
}
#: Options a design sets through its own sections, never through ``workflow.options``.
_SECTION_OPTIONS = {"verifier": "verifier", "aggregate": "verifier", "demos": "demos", "memory_tokens": "memory",
                    "memory_kinds": "memory",
                    "task": "the target", "checkpointer": "the run", "planner": "roles", "critic": "roles"}

_SECTION = {"type": "object", "required": ["id", "text"], "additionalProperties": False,
            "properties": {"id": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}, "text": {"type": "string"},
                           "locked": {"type": "boolean"}}}
#: The design document's JSON Schema (version ``SCHEMA_VERSION``).
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "agentkit design",
    "type": "object",
    "required": ["schema", "workflow"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA_VERSION},
        "name": {"type": "string"},
        "notes": {"type": "string"},
        "parents": {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{12}$"}},
        "workflow": {"type": "object", "required": ["kind"], "additionalProperties": False,
                     "properties": {"kind": {"enum": [*REASONING, *ACTING]}, "options": {"type": "object"}}},
        "prompts": {"type": "object", "additionalProperties": {
            "type": "object", "minProperties": 1, "additionalProperties": False,
            "properties": {role: {"type": "array", "minItems": 1, "items": _SECTION} for role in ("system", "user")}}},
        "demos": {"type": "object", "additionalProperties": False,
                  "properties": {"count": {"type": "integer", "minimum": 0, "maximum": 8},
                                 "source": {"enum": ["train"]}}},
        "memory": {"type": "object", "additionalProperties": False,
                   "properties": {"recall": {"type": "boolean"},
                                  "kinds": {"type": "array", "minItems": 1, "uniqueItems": True,
                                            "items": {"enum": ["trajectory", "reflection", "insight", "concept"]}},
                                  "tokens": {"type": "integer", "minimum": 100, "maximum": 2000}}},
        "verifier": {"type": "object", "additionalProperties": False,
                     "properties": {"kind": {"enum": ["none", "task", "llm", "auto"]},
                                    "prm": {"type": "string", "pattern": "^prm:"},
                                    "aggregate": {"enum": ["last", "min", "prod", "mean"]}}},
        "roles": {"type": "object", "additionalProperties": False,
                  "properties": {"planner": {"type": "boolean"}, "critic": {"type": "boolean"},
                                 "debate": {"type": "object", "additionalProperties": False,
                                            "properties": {"rounds": {"type": "integer", "minimum": 1,
                                                                      "maximum": 3}}}}},
        "sampling": {"type": "object", "additionalProperties": False,
                     "properties": {"temperature": {"type": "number", "minimum": 0, "maximum": 2},
                                    "max_tokens": {"type": "integer", "minimum": 16, "maximum": 4096}}},
        "budget": {"type": "object", "additionalProperties": False,
                   "properties": {"calls": {"type": "integer", "minimum": 1},
                                  "tokens": {"type": "integer", "minimum": 1},
                                  "seconds": {"type": "number", "exclusiveMinimum": 0}}},
    },
}
#: What a design that leaves a section out has (spelled out before hashing, so a default hashes as itself).
DEFAULTS: dict[str, Any] = {
    "workflow": {"options": {}}, "prompts": {}, "demos": {"count": 0, "source": "train"},
    "memory": {"recall": False, "kinds": ["trajectory", "reflection", "insight", "concept"], "tokens": 600}, "verifier": {"kind": "none", "aggregate": "last"},
    "roles": {"planner": False, "critic": False}, "sampling": {"temperature": 0.0, "max_tokens": 512}, "budget": {},
}
#: Fields that describe a design without changing what it does: not hashed.
_LABELS = ("name", "notes", "parents")
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


class DesignError(UserError):
    """A design that is not valid: the message starts with the field's path."""


@dataclass(frozen=True, slots=True)
class Design:
    """A validated agent design (``data``: the document with its defaults spelled out)."""

    data: Mapping[str, Any]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Design:
        """Validate ``data`` (a parsed YAML/JSON document) and fill in its defaults.

        Raises:
            DesignError: the first problem found, as ``path.to.field: what is wrong``.
        """
        if not isinstance(data, Mapping):
            raise DesignError(f"A design is a mapping of sections (schema, workflow, ...), not {type(data).__name__}.")
        errors = sorted(_VALIDATOR.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.path))))
        if errors:
            raise DesignError(_schema_message(errors[0]))
        full = copy.deepcopy(dict(data))
        for section, default in DEFAULTS.items():
            full[section] = {**copy.deepcopy(default), **full.get(section, {})}
        _check(full)
        return cls(full)

    @property
    def id(self) -> str:
        """The first 12 hex digits of the SHA-256 of the canonical form (labels left out)."""
        body = {k: v for k, v in self.data.items() if k not in _LABELS}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    @property
    def name(self) -> str:
        return str(self.data.get("name") or self.id)

    @property
    def parents(self) -> list[str]:
        return list(self.data.get("parents", []))

    @property
    def kind(self) -> str:
        return str(self.data["workflow"]["kind"])

    @property
    def acting(self) -> bool:
        return self.kind in ACTING

    def to_yaml(self) -> str:
        """The document as YAML (labels first), for ``load_design`` to read back."""
        ordered = {k: self.data[k] for k in (*_LABELS, "schema") if k in self.data}
        ordered.update({k: v for k, v in self.data.items() if k not in ordered})
        return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=100)

    def derive(self, changes: Mapping[str, Any], *, name: str | None = None,
               parents: list[str] | None = None) -> Design:
        """A child design: this one with ``changes`` (section -> new value, replacing the section) applied,
        its parent this design (or ``parents``)."""
        data = copy.deepcopy(dict(self.data))
        data.update(copy.deepcopy(dict(changes)))
        data["parents"] = parents if parents is not None else [self.id]
        data["name"] = name or f"{self.name}+"
        return Design.from_data(data)

    def prompts(self) -> dict[str, dict[str, str]]:
        """The prompt overrides the design's sections make: template -> role -> text (sections one per line)."""
        return {name: {role: "\n".join(s["text"] for s in sections) for role, sections in roles.items()}
                for name, roles in self.data["prompts"].items()}

    def workflow_options(self) -> dict[str, Any]:
        """The builder options: ``workflow.options`` with the verifier, roles and memory budget mapped in."""
        data = self.data
        options = dict(data["workflow"]["options"])
        verifier = data["verifier"]
        if verifier["kind"] != "none" or "prm" in verifier:
            options["verifier"] = verifier.get("prm") or verifier["kind"]
            if "aggregate" in _takes(self.kind):
                options["aggregate"] = verifier["aggregate"]
        if self.acting:
            options.update({k: True for k in ("planner", "critic") if data["roles"][k]})
            if data["memory"]["recall"]:
                options["memory_tokens"] = data["memory"]["tokens"]
                options["memory_kinds"] = sorted(data["memory"]["kinds"])
        return options

    def eval_config(self, *, task: str | None = None, env: str | None = None, **run: Any) -> EvalConfig:
        """The ``EvalConfig`` that plays this design on a reasoning ``task`` (``gsm8k``) or an ``env``
        (``twx`` with ``env_options``); ``run`` adds the run's own settings (``tasks``, ``limit``, ``model``,
        ``concurrency``, ``seed``, ``memory``, ``env_options``).

        Raises:
            DesignError: the design does not fit the target (a reasoning workflow on an environment, ...).
        """
        data = self.data
        if (task is None) == (env is None):
            raise DesignError("A design plays on a task (gsm8k) or an environment (twx), one of the two.")
        if env is not None and not self.acting:
            raise DesignError(f"workflow.kind: {self.kind} answers questions; an environment needs one of "
                              f"{', '.join(ACTING)}.")
        if task is not None and self.acting:
            raise DesignError(f"workflow.kind: {self.kind} acts in environments; a reasoning task needs one of "
                              f"{', '.join(REASONING)}.")
        workflow, options = self.kind, self.workflow_options()
        if task is not None:
            shots = data["demos"]["count"]
            if shots:
                task = f"{task}{'&' if '?' in task else '?'}shots={shots}"
            if "debate" in data["roles"]:
                workflow, options = "debate", {**options, "rounds": data["roles"]["debate"].get("rounds", 1)}
            elif data["roles"]["planner"]:
                workflow, options = "planned", {"workflow": self.kind, **options}
        settings: dict[str, Any] = {
            "workflow": workflow, "options": options, "prompts": self.prompts(),
            "temperature": data["sampling"]["temperature"], "max_tokens": data["sampling"]["max_tokens"],
            "budget": dict(data["budget"]), **run}
        if env is not None:
            settings["demos"] = data["demos"]["count"] > 0
            if data["memory"]["recall"] and run.get("memory"):
                settings["frozen"] = True  # a design reads the memory; learning is the search's business
        try:
            return EvalConfig(task=task, env=env, **settings)
        except ConfigError as e:
            raise DesignError(f"{_FIELDS.get(e.field, e.field)}: {e}") from None


_FIELDS = {"options": "workflow.options", "prompts": "prompts", "temperature": "sampling.temperature",
           "max_tokens": "sampling.max_tokens", "workflow": "workflow.kind"}


def load_design(path: str | Path) -> Design:
    """Read and validate the design in ``path`` (YAML or JSON).

    Raises:
        DesignError: a missing or unreadable file, or an invalid design (the message names the file).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise DesignError(f"Cannot read the design {path}: {e.strerror or e}.") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise DesignError(f"{path} is not valid YAML or JSON{where}: {getattr(e, 'problem', e)}.") from None
    try:
        return Design.from_data(data)
    except DesignError as e:
        raise DesignError(f"{path}: {e}") from None


def _schema_message(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "the design"
    if error.validator == "additionalProperties":
        return f"{where}: {error.message.replace('Additional properties are not allowed', 'unknown field')}."
    if error.validator == "const" and list(error.absolute_path) == ["schema"]:
        return f"schema: this agentkit reads design schema {SCHEMA_VERSION}, not {error.instance!r}."
    return f"{where}: {error.message}."


def _takes(kind: str) -> set[str]:
    import inspect

    return set(inspect.signature(get_builder(kind)).parameters)


def _check(data: dict[str, Any]) -> None:
    """What the schema cannot say: option names the builder takes, values within their bounds, prompt
    sections that keep the template's fields, roles that fit the workflow."""
    kind = data["workflow"]["kind"]
    takes = _takes(kind)
    for name, value in data["workflow"]["options"].items():
        if name in _SECTION_OPTIONS:
            raise DesignError(f"workflow.options.{name}: set it in the design's {_SECTION_OPTIONS[name]} section.")
        if name not in takes:
            raise DesignError(f"workflow.options.{name}: {kind} has no such option; it takes "
                              f"{', '.join(sorted(takes - set(_SECTION_OPTIONS)))}.")
        low, high = BOUNDS[kind].get(name, (None, None))
        if low is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise DesignError(f"workflow.options.{name}: {value!r} is not a number.")
            if not low <= value <= high:
                raise DesignError(f"workflow.options.{name}: {value} is out of bounds for {kind} "
                                  f"({_num(low)} to {_num(high)}).")
    roles, acting = data["roles"], kind in ACTING
    if roles["critic"] and not acting:
        raise DesignError("roles.critic: the critic reviews actions; it needs an acting workflow (react).")
    if "debate" in roles and acting:
        raise DesignError("roles.debate: a debate answers questions; it needs a reasoning workflow (cot).")
    if "debate" in roles and roles["planner"]:
        raise DesignError("roles: a debate and a planner do not combine; keep one.")
    if "debate" in roles and kind != "cot":
        raise DesignError(f"roles.debate: each debater reasons as cot does; set workflow.kind to cot, not {kind}.")
    verifier = data["verifier"]
    if (verifier["kind"] != "none" or "prm" in verifier) and "verifier" not in takes:
        raise DesignError(f"verifier: {kind} uses no verifier; set verifier.kind to none or pick a workflow "
                          "that scores candidates (best-of-n, tot, mcts, got, reflexion).")
    if data["memory"]["recall"] and not acting:
        raise DesignError("memory.recall: this version recalls experience for acting workflows (react) only.")
    for name, roles_ in data["prompts"].items():
        try:
            packaged = find_prompt(name)
        except UserError as e:
            raise DesignError(f"prompts.{name}: {e}") from None
        for role, sections in roles_.items():
            if role not in packaged:
                raise DesignError(f"prompts.{name}.{role}: the packaged {name} prompt has no {role} part.")
            ids = [s["id"] for s in sections]
            if len(set(ids)) != len(ids):
                raise DesignError(f"prompts.{name}.{role}: section ids repeat ({', '.join(ids)}).")
        texts = {role: "\n".join(s["text"] for s in sections) for role, sections in roles_.items()}
        try:
            check_prompts({name: texts})
        except UserError as e:
            raise DesignError(f"prompts.{name}: {e}") from None


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
