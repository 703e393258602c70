"""Prompt templates: packaged YAML data (``<package>/prompts/*.yaml``), or values handed to a run.

A template maps a role (``system``, ``user``) to text with ``{field}`` placeholders. Workflows keep theirs
in ``agentkit.workflows``, the experience memory in ``agentkit.memory``, the design search in
``agentkit.experiments``. ``render`` takes a template's name
or the template itself, so a run can be given its prompts as data: ``RunContext(prompts=...)`` carries
overrides by prompt name, checked against the packaged template before any model call (an override must use
the same fields, since those are what the workflow fills).

Example:
    >>> render("cot", question="2+2?")[1]
    {'role': 'user', 'content': '2+2?'}
    >>> render({"user": "Q: {question}"}, question="2+2?")
    [{'role': 'user', 'content': 'Q: 2+2?'}]
    >>> check_prompts({"cot": {"user": "Think hard."}})
    Traceback (most recent call last):
    ...
    agentkit.errors.UserError: Prompt override 'cot' drops {question}, which the workflow fills; keep it ...
"""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping
from importlib import resources

import yaml

from agentkit.errors import UserError
from agentkit.types import Message

__all__ = ["PACKAGES", "ROLES", "Prompts", "Template", "check_prompts", "fields", "find_prompt", "load_prompt",
           "render"]

#: A template: role -> text with ``{field}`` placeholders.
Template = Mapping[str, str]
#: Prompt overrides: prompt name -> the roles it replaces.
Prompts = Mapping[str, Template]
ROLES = ("system", "user")
#: Where packaged prompts live (looked up by name, in this order).
PACKAGES = ("agentkit.workflows", "agentkit.memory", "agentkit.experiments")


@functools.cache
def load_prompt(name: str, package: str = "agentkit.workflows") -> dict[str, str]:
    """The templates of prompt ``name`` in ``package``: a mapping of role (``system``, ``user``) to template
    text."""
    path = resources.files(package) / "prompts" / f"{name}.yaml"
    if not path.is_file():
        raise UserError(f"No prompt template named {name!r} (looked for {path}).")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@functools.cache
def _names() -> dict[str, str]:
    """Every packaged prompt name -> its package."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        folder = resources.files(package) / "prompts"
        for entry in folder.iterdir() if folder.is_dir() else ():
            if entry.name.endswith(".yaml"):
                found.setdefault(entry.name.removesuffix(".yaml"), package)
    return found


def find_prompt(name: str) -> dict[str, str]:
    """The packaged prompt ``name``, from whichever package has it."""
    package = _names().get(name)
    if package is None:
        raise UserError(f"There is no packaged prompt named {name!r} to override; prompts: "
                        f"{', '.join(sorted(_names()))}.")
    return load_prompt(name, package)


def fields(template: Template) -> set[str]:
    """The placeholder names a template uses (``{{`` and ``}}`` are literal braces, not fields)."""
    names: set[str] = set()
    for role, text in template.items():
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as e:
            raise UserError(f"Template role {role!r} does not parse ({e}); write {{{{ and }}}} for literal "
                            "braces.") from None
        names.update(name.split(".")[0].split("[")[0] for _, name, _, _ in parsed if name)
    return names


def check_prompts(overrides: Prompts | None) -> dict[str, dict[str, str]]:
    """Validate prompt overrides and merge each with its packaged template (roles not given are kept).

    Raises:
        UserError: an unknown prompt name or role, a role that is not text, or an override that drops a
            field the workflow fills or uses one it does not.
    """
    merged: dict[str, dict[str, str]] = {}
    for name, roles in (overrides or {}).items():
        packaged = find_prompt(name)
        if not isinstance(roles, Mapping):
            raise UserError(f"Prompt override {name!r} must map roles ({', '.join(ROLES)}) to template text, "
                            f"not {type(roles).__name__}.")
        for role, text in roles.items():
            if role not in ROLES:
                raise UserError(f"Prompt override {name!r} has role {role!r}; roles are {', '.join(ROLES)}.")
            if not isinstance(text, str):
                raise UserError(f"Prompt override {name!r} ({role}) must be text, not {type(text).__name__}.")
        template = {**packaged, **roles}
        wanted, used = fields(packaged), fields(template)
        uses = ", ".join(f"{{{f}}}" for f in sorted(wanted)) or "no fields"
        if missing := sorted(wanted - used):
            raise UserError(f"Prompt override {name!r} drops {', '.join(f'{{{f}}}' for f in missing)}, which the "
                            f"workflow fills; keep it (the packaged template uses: {uses}).")
        if extra := sorted(used - wanted):
            raise UserError(f"Prompt override {name!r} uses {', '.join(f'{{{f}}}' for f in extra)}, which the "
                            f"workflow does not fill (it fills: {uses}); write {{{{ and }}}} for literal braces.")
        merged[name] = template
    return merged


def render(prompt: str | Template, /, *, package: str = "agentkit.workflows", **values: str) -> list[Message]:
    """Fill a prompt (a packaged template's name in ``package``, or a template) with ``values`` into chat
    messages, system first."""
    templates = load_prompt(prompt, package) if isinstance(prompt, str) else prompt
    label = prompt if isinstance(prompt, str) else "(given as a template)"
    messages: list[Message] = []
    for role in ROLES:
        if role in templates:
            try:
                content = templates[role].format(**values)
            except KeyError as e:
                raise UserError(f"Prompt {label!r} ({role}) needs a value for {e.args[0]!r}; "
                                f"given: {sorted(values)}.") from None
            messages.append({"role": role, "content": content.strip()})
    return messages
