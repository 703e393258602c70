"""Optional dependencies, imported on first use with one clear error when they are missing.

Heavy or optional packages (llama.cpp, vLLM, faiss, the simulators) are never imported at module import
time; the code that needs one calls ``require`` where it needs it, and a missing package becomes a
``BackendUnavailableError`` that names the ``pip install`` bringing it.

Example:
    >>> require("json", what="This example", needs="the standard library", extra="python").dumps([1])
    '[1]'
    >>> require("no_frob", what="Frobbing", needs="frob", extra="frob")
    Traceback (most recent call last):
    ...
    agentkit.errors.BackendUnavailableError: Frobbing needs frob: pip install 'frob' (No module named 'no_frob').
"""

from __future__ import annotations

import sys
from types import ModuleType

from agentkit.errors import BackendUnavailableError

__all__ = ["require"]


def require(module: str, *, what: str, needs: str, extra: str, hint: str = "") -> ModuleType:
    """Import ``module``, or raise ``BackendUnavailableError``: "``what`` needs ``needs``: pip install
    '``extra``'", followed by ``hint`` when given, else by the import error itself."""
    try:
        __import__(module)  # the builtin, not importlib: import hooks and test patches of it apply
    except ImportError as e:
        tail = f" {hint}" if hint else f" ({e})."
        raise BackendUnavailableError(f"{what} needs {needs}: pip install '{extra}'{tail}") from e
    return sys.modules[module]
