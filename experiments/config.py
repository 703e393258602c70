"""``EvalConfig``: everything one evaluation (or learning) run is, as one frozen, validated value.

A config is checked when it is made, so a bad field fails before any episode starts, from Python and from
the command line alike: an unknown environment, split, environment option or workflow option, an option
value that does not convert, a count under 1, a prompt override that drops a field. The error is a
``ConfigError`` naming the field (``UserError``'s subclass; the CLI re-words it with its flag names).
Option values only the simulator knows (a TextWorldExpress game, a ScienceWorld task, which that one's JVM
lists) are checked by ``run_eval`` when it makes the first environment, before the run folder is touched.

``run_eval`` resolves what the config leaves open (the split, the step cap, which tasks) and writes the
resolved config to the run folder as ``config.json``; ``--resume`` compares it with the folder's, setting
by setting (``to_json``). The JSON keeps the shape runs have always had, so an old run folder resumes.

Example:
    >>> EvalConfig(env="twx", env_options={"games": "coin"}, per_type=2).env
    'textworld_express'
    >>> EvalConfig(env="twx", concurrency=0)
    Traceback (most recent call last):
    ...
    agentkit.experiments.config.ConfigError: concurrency must be at least 1, not 0.
    >>> EvalConfig(task="gsm8k?shots=4", workflow="sc", options={"n": 4}, limit=20).workflow
    'sc'
    >>> EvalConfig(env="twx", split="validation")
    Traceback (most recent call last):
    ...
    agentkit.experiments.config.ConfigError: Unknown textworld_express split 'validation'; use one of: train, dev, test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agentkit.envs.registry import check_split, convert_options, resolve
from agentkit.errors import UserError
from agentkit.limits import Limits
from agentkit.models.registry import parse_spec
from agentkit.options import literal
from agentkit.paths import default_memory
from agentkit.templates import check_prompts
from agentkit.workflows.registry import check_options, get_builder
from agentkit.workflows.tasks import get_task

__all__ = ["RESUMABLE", "ConfigError", "EvalConfig"]

Policy = Literal["agent", "expert"]

#: Settings a resumed run may change: they decide how the run goes, not what its episodes are.
RESUMABLE = ("concurrency", "distill_every", "embedder", "reflect")
#: The budget keys (``Limits``' fields): per episode.
BUDGET_KEYS = ("calls", "tokens", "seconds")
#: The settings ``config.json`` has held from the start, in its order; newer ones follow.
_JSON_ORDER = ("env", "split", "env_options", "policy", "workflow", "options", "model", "max_steps", "demos",
               "temperature", "concurrency", "tasks", "memory", "frozen", "seed", "prompts", "embedder",
               "distill_every", "reflect", "task", "max_tokens", "budget")


class ConfigError(UserError):
    """A bad ``EvalConfig`` field. The message names fields by their ``EvalConfig`` names; ``named(names)``
    says the same with other names for them (the CLI's flags)."""

    def __init__(self, template: str, *fields: str, **values: Any) -> None:
        self.template, self.fields, self.values = template, fields, values
        self.field = fields[0] if fields else ""
        super().__init__(template.format(*fields, **values))

    def named(self, names: Mapping[str, str]) -> UserError:
        """The same error, each field called by ``names[field]``."""
        return UserError(self.template.format(*(names.get(f, f) for f in self.fields), **self.values))


def _wrap(field_name: str, check: Any, *args: Any) -> Any:
    """``check(*args)``; a ``UserError`` it raises (whose message already names what is wrong and the valid
    values) becomes a ``ConfigError`` about ``field_name``."""
    try:
        return check(*args)
    except ConfigError:
        raise
    except UserError as e:
        raise ConfigError(str(e).replace("{", "{{").replace("}", "}}"), field_name) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalConfig:
    """One run: which episodes, who plays them, with what, and what is learned.

    Attributes:
        env: the environment (``alfworld``, ``textworld_express``/``twx``, ``scienceworld``, ``webshop``);
            or task: a reasoning task instead (``gsm8k``, ``arithmetic``, ``game24``, with its options:
            ``gsm8k?shots=4&split=test``), each held-out problem one episode.
        split: the environment's split (default: its evaluation split; the training split when learning).
        env_options: environment options, as values or as command-line strings (``games="coin,twc"``).
        tasks: these task ids (default: the split's, in order); limit, per_type: the first ``limit`` of
            them, or the first ``per_type`` of each task type (interleaved by type).
        policy: ``agent`` (the workflow on the model) or ``expert`` (the environment's reference policy).
        workflow: the acting workflow (default ``react``), or for a task the reasoning workflow (default
            ``cot``): a registered name or ``module:function``; options: its builder options (strings are
            read as JSON when they parse, as on the command line).
        model: the model spec (default: ``$AGENTKIT_MODEL``, else the embedded default).
        temperature: sampling temperature; seed: sampling seed of every call (``None``: the backend's).
        max_tokens: generation limit per model call (default: the context's, 512).
        budget: per episode, ``{"calls": N, "tokens": N, "seconds": S}`` (any of them); an episode that
            spends it stops cleanly with that reason.
        max_steps: actions per episode (default: the environment's cap).
        concurrency: episodes at once.
        memory: an experience memory folder to recall from and record into (a learning run's default:
            ``agentkit.paths.default_memory()``); frozen: read it only.
        embedder: the memory's sentence-transformers model.
        demos: show one expert demonstration of the same task type (played on the training split).
        prompts: prompt overrides, ``{name: {role: template}}`` (see ``agentkit.templates``).
        learn: a learning run: record every episode and distil insights and concepts;
            distill_every: distil after every N episodes (default: once, at the end); reflect: write a
            reflection after each failure.
    """

    env: str | None = None
    task: str | None = None
    split: str | None = None
    env_options: Mapping[str, Any] = field(default_factory=dict)
    tasks: Sequence[str] | None = None
    limit: int | None = None
    per_type: int | None = None
    policy: Policy = "agent"
    workflow: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    model: str | None = None
    temperature: float = 0.0
    seed: int | None = None
    max_tokens: int | None = None
    budget: Mapping[str, float] = field(default_factory=dict)
    max_steps: int | None = None
    concurrency: int = 1
    memory: str | None = None
    frozen: bool = False
    embedder: str | None = None
    demos: bool = True
    prompts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    learn: bool = False
    distill_every: int | None = None
    reflect: bool = True

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if (self.env is None) == (self.task is None):
            raise ConfigError("Give {0} (an environment such as alfworld) or {1} (a reasoning task such as gsm8k), "
                              "one of the two.", "env", "task")
        if self.task is not None:
            self._check_task()
            return
        env, spec = _wrap("env", resolve, self.env)
        set_(self, "env", env)
        set_(self, "env_options", dict(self.env_options))
        if self.policy not in ("agent", "expert"):
            raise ConfigError("{0} must be agent or expert, not {value!r}.", "policy", value=self.policy)
        self._check_common()
        if self.split is not None:
            _wrap("split", check_split, env, self.split)
        _wrap("env_options", convert_options, env, self.env_options)
        if self.learn and not self.memory:
            set_(self, "memory", str(default_memory()))
        if self.frozen and not self.memory:
            raise ConfigError("{0} needs {1} PATH (the memory to read).", "frozen", "memory")
        if self.learn and self.frozen:
            raise ConfigError("Learning writes to the memory; drop {0} (evaluate with a frozen memory instead).",
                              "frozen")
        if self.distill_every is not None and not self.learn:
            raise ConfigError("{0} is for learning runs (learn=True).", "distill_every")
        if self.policy == "agent":
            if self.workflow is None:
                set_(self, "workflow", "react")
            if not self.workflow:
                raise ConfigError("{0}: the agent policy needs an acting workflow (e.g. react).", "workflow")
            _wrap("workflow", get_builder, self.workflow)
            _wrap("options", check_options, self.workflow, self.builder_options(demos=spec.demo_split is not None))
            if self.model is not None:
                _wrap("model", parse_spec, self.model)
            set_(self, "prompts", _wrap("prompts", check_prompts, self.prompts))
        else:  # what the expert does not use is not part of its run (as config.json has always said)
            set_(self, "workflow", None)
            set_(self, "options", {})
            set_(self, "model", None)
            set_(self, "demos", False)
            set_(self, "prompts", {})

    def _check_common(self) -> None:
        set_ = object.__setattr__
        set_(self, "options", dict(self.options))
        if self.tasks is not None:
            if isinstance(self.tasks, str):
                raise ConfigError("{0} is a list of task ids, not one string ({value!r}).", "tasks", value=self.tasks)
            set_(self, "tasks", tuple(self.tasks))
        for name in ("concurrency", "limit", "per_type", "max_steps", "distill_every", "max_tokens"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ConfigError("{0} must be at least 1, not {value!r}.", name, value=value)
        budget = dict(self.budget)
        unknown = sorted(set(budget) - set(BUDGET_KEYS))
        if unknown:
            raise ConfigError("{0} has no {value}; it takes calls, tokens and seconds.", "budget",
                              value=", ".join(unknown))
        for key, value in budget.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError("{0} must be a positive number, not {value!r}.", f"budget.{key}", value=value)
        set_(self, "budget", budget)

    def _check_task(self) -> None:
        """A reasoning-task run: the task spec builds, the workflow takes the task, and what only an
        environment has (its options, split, the expert, learning) is refused."""
        set_ = object.__setattr__
        task = _wrap("task", get_task, self.task)
        self._check_common()
        split = getattr(task, "split", None)
        for name, given in (("env_options", bool(self.env_options)), ("split", self.split not in (None, split)),
                            ("per_type", self.per_type is not None), ("max_steps", self.max_steps is not None),
                            ("learn", self.learn), ("memory", bool(self.memory))):
            if given:
                hint = f" (put it in the task spec: {task.name}?split=...)" if name == "split" else ""
                raise ConfigError("{0} is for environments, not reasoning tasks" + hint + ".", name)
        if self.policy != "agent":
            raise ConfigError("{0}: a reasoning task has no reference policy; use the agent.", "policy")
        set_(self, "workflow", self.workflow or "cot")
        _wrap("workflow", get_builder, self.workflow)
        _wrap("options", check_options, self.workflow, self.builder_options())
        if self.model is not None:
            _wrap("model", parse_spec, self.model)
        set_(self, "prompts", _wrap("prompts", check_prompts, self.prompts))
        set_(self, "demos", False)
        set_(self, "split", split)

    @property
    def limits(self) -> Limits:
        """The per-episode budget."""
        return Limits(**self.budget)

    def builder_options(self, *, demos: bool = False) -> dict[str, Any]:
        """The workflow builder's options for this run (but the demonstrations themselves, which are played
        first): ``max_steps``, ``demos`` when shown, ``reflect=False`` when off, then ``options``."""
        if self.task is not None:  # a reasoning workflow: the task (built by the run) and the options
            return {"task": self.task, **{k: literal(v) for k, v in self.options.items()}}
        options: dict[str, Any] = {"max_steps": self.max_steps}
        if demos and self.demos:
            options["demos"] = None
        if self.learn and not self.reflect:
            options["reflect"] = False
        options.update({k: literal(v) for k, v in self.options.items()})
        return options

    def to_json(self) -> dict[str, Any]:
        """The settings as ``config.json`` holds them (the selection already resolved into ``tasks``)."""
        data = {name: getattr(self, name) for name in _JSON_ORDER}
        data["tasks"] = list(self.tasks) if self.tasks is not None else None
        data["prompts"] = {k: dict(v) for k, v in self.prompts.items()}
        data["budget"] = dict(self.budget)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EvalConfig:
        """The config a run folder's ``config.json`` holds (settings this version does not know are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @staticmethod
    def defaults() -> dict[str, Any]:
        """Each setting's default: what an old ``config.json`` that lacks a newer setting had."""
        return {f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
                for f in dataclasses.fields(EvalConfig) if f.name != "env"}
