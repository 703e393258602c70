"""Objects named by import path, ``package.module:attribute``: user workflows, tasks, agent designs.

Like ``python -m``, the current directory is importable, so ``examples.check_and_fix:build`` works from a
checkout.

Example:
    >>> load_object("json:dumps", what="function")([1])
    '[1]'
    >>> load_object("json", what="workflow")
    Traceback (most recent call last):
    ...
    agentkit.errors.UserError: A workflow is named by an import path module:attribute, not 'json'.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from agentkit.errors import UserError

__all__ = ["load_object"]


def load_object(path: str, *, what: str) -> Any:
    """The attribute ``path`` names (``module:attribute``); a ``UserError`` saying what is wrong otherwise."""
    module_name, colon, attr = path.partition(":")
    if not colon or not module_name or not attr:
        raise UserError(f"A {what} is named by an import path module:attribute, not {path!r}.")
    if os.getcwd() not in sys.path:  # like `python -m`: a module in the current directory imports
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise UserError(f"Cannot import {what} module {module_name!r}: {e}. Is it on PYTHONPATH?") from None
    found = getattr(module, attr, None)
    if found is None:
        raise UserError(f"{module_name!r} has no {attr!r} (the {what} named {path!r}).")
    return found
