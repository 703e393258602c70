"""Run a simulator in a child process: for engines that are not thread-safe (two ALFWorld games in one
process corrupt each other's planner state) and so that a simulator that dies takes only its own process.

``Isolated(factory)`` starts a child with the spawn method, builds ``factory()`` there and forwards method
calls over a pipe. A child that dies or exits raises ``EnvCrashed`` in the caller; an exception inside the
child comes back with its type name and message (``UserError`` stays a ``UserError``). A child whose parent
dies (kill -9) exits within a second instead of running on.

Example:
    >>> import collections, functools
    >>> remote = Isolated(functools.partial(collections.Counter, "abca"))
    >>> remote.call("most_common", 1)
    [('a', 2)]
    >>> remote.close()
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from agentkit.envs.base import EnvCrashed
from agentkit.errors import UserError

__all__ = ["Isolated"]


def _exit_with_parent(parent: int) -> None:
    """Exit when the parent dies (a kill -9 of the eval must not leave engines burning CPU)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _serve(factory: Callable[[], Any], conn: Any, parent: int) -> None:
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    target = factory()
    while True:
        try:
            method, args = conn.recv()
        except EOFError:
            return
        if method is None:
            conn.send(("ok", None))
            return
        try:
            conn.send(("ok", getattr(target, method)(*args)))
        except Exception as e:  # reported to the parent, which decides what it means
            conn.send(("err", type(e).__name__, str(e), isinstance(e, UserError), traceback.format_exc()))


class Isolated:
    """An object built by ``factory`` (picklable: a module-level callable or a partial of one) in a child
    process; ``call(method, *args)`` runs ``obj.method(*args)`` there and returns the (pickled) result."""

    def __init__(self, factory: Callable[[], Any], *, name: str = "environment") -> None:
        self.name = name
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(factory, child, os.getpid()), daemon=True,
                                        name=f"agentkit-{name}")
        self._process.start()
        child.close()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def call(self, method: str, *args: Any) -> Any:
        try:
            self._conn.send((method, args))
            reply = self._conn.recv()
        except (EOFError, OSError, BrokenPipeError) as e:
            code = self._process.exitcode
            raise EnvCrashed(f"The {self.name} process died (exit code {code}) during {method}.") from e
        if reply[0] == "ok":
            return reply[1]
        _, kind, message, is_user_error, trace = reply
        if is_user_error:
            raise UserError(message)
        raise EnvCrashed(f"The {self.name} failed in {method}: {kind}: {message}\n{trace}")

    def close(self) -> None:
        if self._process.is_alive():
            try:
                self._conn.send((None, ()))
                self._conn.recv()
            except (EOFError, OSError, BrokenPipeError):
                pass
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._conn.close()
