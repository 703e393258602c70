"""Environments by name, for the CLI and the eval harness: ``make_env("alfworld", "eval_in_distribution")``.

Options are strings from the command line (``--env-option games=coin,arithmetic``) or Python values; a
string is converted by the annotation of the constructor parameter it feeds, and the options an environment
takes are its constructor's keyword-only parameters.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_type_hints

from agentkit.envs.base import ThreadedEnv
from agentkit.errors import UserError
from agentkit.options import convert_option

__all__ = ["ENVS", "EnvSpec", "check_split", "convert_options", "env_class", "make_env", "options_of", "resolve"]


@dataclass(frozen=True, slots=True)
class EnvSpec:
    """How to make one environment: its class, default split, the split demonstrations are played on (``None``:
    it has no reference policy) and its step cap. Its splits are the class's own (``splits``)."""

    module: str
    cls: str
    default_split: str
    demo_split: str | None
    max_steps: int


ENVS = {
    "alfworld": EnvSpec("agentkit.envs.alfworld", "AlfWorld", "eval_in_distribution", "train", 50),
    "textworld_express": EnvSpec("agentkit.envs.textworld_express", "TextWorldExpress", "test", "train", 50),
    "scienceworld": EnvSpec("agentkit.envs.scienceworld", "ScienceWorld", "test", "train", 60),
    "webshop": EnvSpec("agentkit.envs.webshop.adapter", "WebShop", "test", "train", 15),
}
_ALIASES = {"twx": "textworld_express", "textworld-express": "textworld_express", "sciworld": "scienceworld",
            "alfred": "alfworld"}


def resolve(name: str) -> tuple[str, EnvSpec]:
    """The canonical name and spec of environment ``name`` (aliases: twx, sciworld)."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in ENVS:
        raise UserError(f"Unknown environment {name!r}; choose from {', '.join(ENVS)} (aliases: twx, sciworld).")
    return key, ENVS[key]


def env_class(name: str) -> type[ThreadedEnv]:
    spec = resolve(name)[1]
    return getattr(importlib.import_module(spec.module), spec.cls)


def options_of(name: str) -> list[str]:
    """The options environment ``name`` takes: its constructor's parameters but ``split`` (a flag of its own)."""
    params = inspect.signature(env_class(name).__init__).parameters
    return sorted(p for p, v in params.items()
                  if v.kind in (v.POSITIONAL_OR_KEYWORD, v.KEYWORD_ONLY) and p not in ("self", "split"))


def check_split(name: str, split: str) -> None:
    """Refuse a split environment ``name`` does not have, naming those it has (its class's ``splits``)."""
    key = resolve(name)[0]
    cls = env_class(key)
    if cls.splits and split not in cls.splits and split not in cls.split_aliases:
        raise UserError(f"Unknown {key} split {split!r}; use one of: {', '.join(cls.splits)}.")


def convert_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` for environment ``name`` as its constructor takes them (strings converted by annotation);
    an option it does not take, or a value that does not convert, is a ``UserError`` saying which."""
    key = resolve(name)[0]
    accepted = options_of(key)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise UserError(f"Environment {key} has no option {', '.join(unknown)}; it takes: {', '.join(accepted)}.")
    hints = get_type_hints(env_class(key).__init__)
    return {k: convert_option(v, hints.get(k), k) for k, v in options.items()}


def make_env(name: str, split: str | None = None, **options: Any) -> ThreadedEnv:
    """A new environment ``name`` on ``split`` (its default when ``None``)."""
    key, spec = resolve(name)
    return env_class(key)(split=split or spec.default_split, **convert_options(key, options))
