"""Environments by name, for the CLI and the eval harness: ``make_env("alfworld", "eval_in_distribution")``.

Options are strings from the command line (``--env-option games=coin,arithmetic``) or Python values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentkit.envs.base import ThreadedEnv
from agentkit.errors import UserError

__all__ = ["ENVS", "EnvSpec", "make_env", "resolve"]


@dataclass(frozen=True, slots=True)
class EnvSpec:
    """How to make one environment: its module, default split, the split demonstrations are played on (``None``:
    it has no reference policy) and its step cap."""

    module: str
    cls: str
    default_split: str
    demo_split: str | None
    max_steps: int
    options: tuple[str, ...]


ENVS = {
    "alfworld": EnvSpec("agentkit.envs.alfworld", "AlfWorld", "eval_in_distribution", "train", 50,
                        ("data", "expert")),
    "textworld_express": EnvSpec("agentkit.envs.textworld_express", "TextWorldExpress", "test", "train", 50,
                                 ("games", "params", "episodes")),
    "scienceworld": EnvSpec("agentkit.envs.scienceworld", "ScienceWorld", "test", "train", 60,
                            ("tasks", "simplification", "episodes")),
    "webshop": EnvSpec("agentkit.envs.webshop.adapter", "WebShop", "test", None, 15, ("url", "goals")),
}
_ALIASES = {"twx": "textworld_express", "textworld-express": "textworld_express", "sciworld": "scienceworld",
            "alfred": "alfworld"}
_LISTS = {"games", "tasks"}
_INTS = {"episodes", "goals"}


def resolve(name: str) -> tuple[str, EnvSpec]:
    """The canonical name and spec of environment ``name`` (aliases: twx, sciworld)."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in ENVS:
        raise UserError(f"Unknown environment {name!r}; choose from {', '.join(ENVS)} (aliases: twx, sciworld).")
    return key, ENVS[key]


def _convert(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in _LISTS:
        return [v.strip() for v in value.split(",") if v.strip()]
    if key in _INTS:
        try:
            return int(value)
        except ValueError:
            raise UserError(f"Environment option {key}={value!r} must be a whole number.") from None
    return value


def make_env(name: str, split: str | None = None, **options: Any) -> ThreadedEnv:
    """A new environment ``name`` on ``split`` (its default when ``None``)."""
    import importlib

    key, spec = resolve(name)
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        raise UserError(f"Environment {key} has no option {', '.join(unknown)}; it takes: {', '.join(spec.options)}.")
    cls = getattr(importlib.import_module(spec.module), spec.cls)
    return cls(split=split or spec.default_split, **{k: _convert(k, v) for k, v in options.items()})
