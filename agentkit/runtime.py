"""Running a compiled workflow graph: typed events out, optional checkpointing so a stopped run resumes.

``stream_run`` merges the events nodes write (``stream_mode="custom"``) with node start/end (LangGraph's
``"tasks"`` mode), also those of graphs a node runs (a planner's solver), and ends with ``Done`` (the final
state and the run's usage). With a checkpointer compiled into the graph and a ``thread_id``, a thread whose
last run stopped part-way resumes from its last finished step instead of starting over.

Example:
    >>> import asyncio
    >>> from agentkit.context import RunContext
    >>> from agentkit.models.testing import ScriptedModel
    >>> from agentkit.workflows.cot import build
    >>> ctx = RunContext(ScriptedModel(["Answer: 4"]))
    >>> asyncio.run(run(build(), {"question": "2+2?"}, ctx))["answer"]
    '4'
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agentkit.context import RunContext
from agentkit.errors import UserError
from agentkit.events import Done, Event, NodeEnd, NodeStart
from agentkit.optional import require

__all__ = ["open_checkpointer", "run", "stream_run"]

#: LangGraph's step cap; workflows stop themselves through their own limits long before this.
RECURSION_LIMIT = 10_000


async def stream_run(graph: Any, inputs: dict[str, Any] | None, ctx: RunContext, *,
                     thread_id: str | None = None) -> AsyncIterator[Event]:
    """Run ``graph`` on ``inputs`` and yield its events, ending with ``Done``.

    Args:
        graph: a compiled LangGraph graph whose context schema is ``RunContext``.
        inputs: the initial state; ignored when ``thread_id`` names an unfinished run (it resumes).
        ctx: the run's model, budget and resources.
        thread_id: the checkpoint thread (needs a graph compiled with a checkpointer).
    """
    config: dict[str, Any] = {"recursion_limit": RECURSION_LIMIT}
    if thread_id is not None:
        if graph.checkpointer is None:
            raise UserError("A thread id needs a graph compiled with a checkpointer (build(checkpointer=...)).")
        config["configurable"] = {"thread_id": thread_id}
        snapshot = await graph.aget_state(config)
        if snapshot.next:  # the thread stopped part-way: continue from its last checkpoint
            inputs = None
    state: dict[str, Any] = {}
    async for namespace, mode, chunk in graph.astream(inputs, config, context=ctx, subgraphs=True,
                                                      stream_mode=["custom", "values", "tasks"]):
        if mode == "values":  # a graph run inside a node (a role's solver) streams its events, not its state
            if not namespace:
                state = chunk
        elif mode == "tasks":
            if "result" in chunk:
                error = chunk.get("error")
                yield NodeEnd(chunk["name"], None if error is None else repr(error))
            else:
                yield NodeStart(chunk["name"])
        else:
            yield chunk
    yield Done(dict(state), ctx.spent)


async def run(graph: Any, inputs: dict[str, Any] | None, ctx: RunContext, *,
              thread_id: str | None = None) -> dict[str, Any]:
    """Run ``graph`` to the end and return its final state (events are dropped)."""
    state: dict[str, Any] = {}
    async for event in stream_run(graph, inputs, ctx, thread_id=thread_id):
        if isinstance(event, Done):
            state = event.state
    return state


@contextlib.asynccontextmanager
async def open_checkpointer(path: str | Path) -> AsyncIterator[Any]:
    """A SQLite checkpointer at ``path`` (created if missing) for ``build(checkpointer=...)``."""
    saver_module = require("langgraph.checkpoint.sqlite.aio", what="Checkpointing", needs="langgraph-checkpoint-sqlite",
                           extra="langgraph-checkpoint-sqlite")
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    _check_database(path)
    async with saver_module.AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        yield saver


def _check_database(path: Path) -> None:
    """Refuse, before any work is done, a path that is not (and cannot become) a SQLite database."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as e:
        raise UserError(f"Cannot use {path} as a checkpoint file ({e}). Give a new file name or an "
                        "agentkit checkpoint database.") from None
