"""Where agentkit keeps things on disk: the user cache (joined model files), the default experience memory, and
the data folder (the terminal UI's chat history).

Both faces (the command line and the terminal UI) and the library resolve these the same way.

Example:
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"AGENTKIT_CACHE": "/tmp/ak-cache"}):
    ...     _ = os.environ.pop("AGENTKIT_MEMORY", None)
    ...     str(cache_dir()), str(default_memory())
    ('/tmp/ak-cache', '/tmp/ak-cache/memory')
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "data_dir", "default_memory"]


def cache_dir() -> Path:
    """``$AGENTKIT_CACHE``, else ``$XDG_CACHE_HOME/agentkit``, else ``~/.cache/agentkit``."""
    if env := os.environ.get("AGENTKIT_CACHE"):
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agentkit"


def default_memory() -> Path:
    """The experience memory used when none is named: ``$AGENTKIT_MEMORY``, else ``memory/`` in the cache."""
    if env := os.environ.get("AGENTKIT_MEMORY"):
        return Path(env).expanduser()
    return cache_dir() / "memory"


def data_dir() -> Path:
    """What the user keeps (chat history): ``$AGENTKIT_DATA``, else ``$XDG_DATA_HOME/agentkit``, else
    ``~/.local/share/agentkit``."""
    if env := os.environ.get("AGENTKIT_DATA"):
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "agentkit"
