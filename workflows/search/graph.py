"""The search graph: one LangGraph loop that runs any ``Algorithm`` over any task's search problem.

    init ──► expand ×N (parallel Send branches) ──► integrate ──► (loop) … ──► finish

``expand`` proposes actions from one node, steps the world model (invalid steps are pruned with their
reason) and evaluates the children; ``integrate`` adds them to the tree and lets the algorithm choose what
survives and what to expand next. The tree is plain data in the state, so a checkpointed search resumes.
"""

from __future__ import annotations

import copy
import functools
import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from agentkit.context import RunContext
from agentkit.events import Answer, Expand, Prune, Score, Stopped, Thought
from agentkit.limits import BudgetExceeded
from agentkit.workflows.guard import StopReason, guard
from agentkit.workflows.memory_nodes import add_memory
from agentkit.workflows.search.algorithms import Algorithm, Search, merit
from agentkit.workflows.search.base import InvalidAction, TreeNode

__all__ = ["SearchState", "build_search"]


def _collect(old: list[Any], new: list[Any] | None) -> list[Any]:
    """Reducer: parallel branches append; ``None`` clears (``integrate`` consumes the batch)."""
    return [] if new is None else old + new


class SearchState(TypedDict, total=False):
    question: str
    tree: list[TreeNode]
    frontier: list[int]
    pending: list[int]
    rounds: int
    expansions: Annotated[list[dict[str, Any]], _collect]
    reflections: Annotated[list[str], operator.add]
    solution: int | None
    completed_from: int | None
    stop_reason: StopReason
    answer: str | None
    error: str | None
    recalled: str
    memory_ids: list[int]


class _Expand(TypedDict):
    node: TreeNode
    path: list[Any]  # the states from the root to the node
    question: str
    reflections: list[str]


def build_search(task: Any, algorithm: Algorithm, *, stop_on_solution: bool = True, checkpointer: Any = None,
                 memory_tokens: int = 400, **config_options: Any) -> CompiledStateGraph:
    """Compile the search graph for ``task`` (a ``Task``) under ``algorithm``: ``recall`` → ``init`` →
    (``expand`` ×n → ``integrate``)* → ``finish`` → ``record``. With an experience memory in the context, what
    it recalls for the question joins the hints of every expansion, and the best path is stored (with the
    search's last reflection when it failed).

    Args:
        task: supplies ``search(question, **config_options) -> (world, config)`` and answer handling.
        algorithm: ``BFS``, ``Beam``, ``DFS``, ``MCTS`` or your own ``Algorithm``.
        stop_on_solution: end as soon as a finished path earns reward 1.
        checkpointer: a LangGraph checkpointer (e.g. ``agentkit.runtime.open_checkpointer``).
        memory_tokens: the budget of the recalled memory in the hints.
        config_options: ``generation`` (propose|sample), ``judging`` (value|vote), ``n_evaluate``.
    """

    @functools.lru_cache(maxsize=64)
    def problem(question: str) -> tuple[Any, Any]:
        return task.search(question, **config_options)

    algorithm = copy.copy(algorithm)  # the task's depth fills in a missing max_depth without touching the caller's
    if algorithm.max_depth is None:
        algorithm.max_depth = getattr(task, "max_depth", None)

    def plan(search: Search, runtime: Runtime[RunContext], stop_reason: str | None) -> dict[str, Any]:
        reason = stop_reason or algorithm.done(search)
        if not reason and (spent := runtime.context.exceeded()):
            runtime.stream_writer(Stopped(spent))
            reason = spent
        pending = [] if reason else algorithm.select(search)
        if not reason and not pending:
            reason = "search space exhausted"
        return {"tree": search.tree, "frontier": search.frontier, "rounds": search.rounds,
                "pending": pending, "stop_reason": reason}

    async def init(state: SearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        world, _ = problem(state["question"])
        root = world.init_state()
        tree: list[TreeNode] = [{"id": 0, "parent": None, "action": None, "state": root, "depth": 0, "value": 0.0,
                                 "visits": 0, "total": 0.0, "terminal": world.is_terminal(root), "reward": None,
                                 "expanded": False, "children": []}]
        search = Search(tree)
        algorithm.start(search)
        runtime.stream_writer(Expand("init", id=0, parent=None, text=world.describe(root),
                                     terminal=tree[0]["terminal"]))
        return {**plan(search, runtime, None), "reflections": [], "solution": None, "expansions": None}

    @guard
    async def expand(arg: _Expand, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx, emit = runtime.context, runtime.stream_writer
        world, config = problem(arg["question"])
        node = arg["node"]
        proposals = await config.propose(ctx, node["state"], k=algorithm.k, hints=arg["reflections"])
        for text, reason in proposals.rejected:
            emit(Prune("expand", text, f"model mistake: {reason}", parent=node["id"]))
        children: list[dict[str, Any]] = []
        for action in proposals.actions:
            try:
                child = world.step(node["state"], action)
            except InvalidAction as e:
                emit(Prune("expand", str(action), f"invalid step: {e}", parent=node["id"]))
                continue
            if any(c["state"] == child for c in children):
                continue
            emit(Thought("expand", f"{world.describe(node['state'])} → {action}"))
            terminal = world.is_terminal(child)
            children.append({"action": action, "state": child, "terminal": terminal,
                             "reward": config.reward(child) if terminal else None})
        to_value = [c for c in children if c["reward"] is None]
        values = await config.evaluate(ctx, node["state"], [c["state"] for c in to_value])
        for c, ev in zip(to_value, values, strict=True):
            c["value"] = ev.value
            emit(Score("evaluate", world.describe(c["state"]), ev.value, ev.detail, parent=node["id"]))
        reflections: list[str] = []
        for c in children:
            if c["reward"] is not None:
                c["value"] = c["reward"]
                emit(Score("evaluate", world.describe(c["state"]), c["reward"], "exact reward of a finished path",
                           parent=node["id"]))
                if c["reward"] <= 0 and algorithm.reflect:
                    lesson = await config.reflect(ctx, [*arg["path"], c["state"]])
                    if lesson:
                        emit(Thought("reflect", lesson))
                        reflections.append(lesson)
        return {"expansions": [{"parent": node["id"], "children": children}], "reflections": reflections}

    async def integrate(state: SearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        search = Search([dict(n) for n in state["tree"]], list(state["frontier"]), state.get("rounds", 0))  # type: ignore[misc]
        world, _ = problem(state["question"])
        solution = state.get("solution")
        expanded = []
        for exp in state.get("expansions", []):
            parent = search.tree[exp["parent"]]
            parent["expanded"] = True
            expanded.append(parent["id"])
            for c in exp["children"]:
                node: TreeNode = {"id": len(search.tree), "parent": parent["id"], "action": c["action"],
                                  "state": c["state"], "depth": parent["depth"] + 1, "value": c["value"],
                                  "visits": 0, "total": 0.0, "terminal": c["terminal"], "reward": c["reward"],
                                  "expanded": False, "children": []}
                search.tree.append(node)
                parent["children"].append(node["id"])
                runtime.stream_writer(Expand("integrate", id=node["id"], parent=parent["id"],
                                             text=world.describe(c["state"]), action=str(c["action"]),
                                             value=c["value"], reward=c["reward"], terminal=c["terminal"]))
                if solution is None and c["reward"] is not None and c["reward"] >= 1.0:
                    solution = node["id"]
        visits = [n["visits"] for n in search.tree]
        algorithm.update(search, expanded)
        for node, before in zip(search.tree, visits, strict=False):  # MCTS's backups, so a UI can show them
            if node["visits"] != before and node["visits"]:
                runtime.stream_writer(Score("integrate", world.describe(node["state"]), node["total"] / node["visits"],
                                            f"{node['visits']} visits", id=node["id"], parent=node["parent"]))
        for i, reason in search.pruned:
            runtime.stream_writer(Prune("integrate", world.describe(search.tree[i]["state"]), reason, id=i,
                                        parent=search.tree[i]["parent"]))
        reason = state.get("stop_reason")
        if solution is not None and stop_on_solution:
            reason = reason or "solved"
        update = plan(search, runtime, reason)
        return {**update, "solution": solution, "expansions": None}

    def dispatch(state: SearchState) -> list[Send] | str:
        if state.get("stop_reason") or not state.get("pending"):
            return "finish"
        tree = state["tree"]
        hints = [*filter(None, [state.get("recalled")]), *state.get("reflections", [])]
        return [Send("expand", {"node": tree[i], "path": [n["state"] for n in Search(tree).path(i)],
                                "question": state["question"], "reflections": hints})
                for i in state["pending"]]

    def best_node(state: SearchState) -> int | None:
        best = state.get("solution")
        if best is None:
            finished = [n for n in state["tree"] if n["terminal"]]
            best = max(finished, key=merit)["id"] if finished else None
        return best

    def episode(state: SearchState) -> dict[str, Any]:
        """The best path as a trajectory for the memory."""
        world, _ = problem(state["question"])
        best = best_node(state)
        path = Search(state["tree"]).path(best)[1:] if best is not None else []
        steps = [{"thought": "", "action": str(n["action"]), "observation": world.describe(n["state"])} for n in path]
        return {"steps": steps, "won": state.get("solution") is not None,
                "reward": float(path[-1]["reward"] or 0.0) if path else 0.0, "task_type": getattr(task, "name", "")}

    async def finish(state: SearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        world, config = problem(state["question"])
        tree = state["tree"]
        reason = state.get("stop_reason") or ""
        best = best_node(state)
        if best is None and hasattr(config, "complete") and not reason.startswith(("call limit", "token limit",
                                                                                    "time limit")):
            completed = await _complete(world, config, tree, runtime)
            if completed is not None:
                return completed
        if best is None:
            why = f"no path reached an answer ({len(tree)} nodes; {reason or 'stopped'})"
            runtime.stream_writer(Answer(None, why))
            return {"answer": None, "error": why}
        answer = world.answer(tree[best]["state"])
        error = None if answer else "the best path has no answer"
        runtime.stream_writer(Answer(answer, error or ""))
        return {"answer": answer, "error": error, "solution": state.get("solution")}

    async def _complete(world: Any, config: Any, tree: list[TreeNode], runtime: Runtime[RunContext]
                        ) -> dict[str, Any] | None:
        """The most promising unfinished path (best merit, then depth) finished greedily in one call."""
        open_ = [n for n in tree if n["parent"] is not None and not n["terminal"]]
        if not open_:
            return None
        node = max(open_, key=lambda n: (merit(n), n["depth"]))
        try:
            rest = await config.complete(runtime.context, node["state"])
        except BudgetExceeded as e:
            runtime.stream_writer(Stopped(e.reason))
            return None
        runtime.stream_writer(Thought("finish", rest))
        final = world.step(node["state"], rest) if rest else node["state"]
        answer = world.answer(final) or (task.extract(world.describe(final)) if hasattr(task, "extract") else None)
        error = None if answer else "the completed path has no answer"
        runtime.stream_writer(Answer(answer, error or ""))
        return {"answer": answer, "error": error, "completed_from": node["id"]}

    graph = StateGraph(SearchState, context_schema=RunContext)
    graph.add_node("init", init)
    graph.add_node("expand", expand)
    graph.add_node("integrate", integrate)
    graph.add_node("finish", finish)
    graph.add_conditional_edges("init", dispatch, ["expand", "finish"])
    graph.add_edge("expand", "integrate")
    graph.add_conditional_edges("integrate", dispatch, ["expand", "finish"])
    add_memory(graph, entry="init", exit="finish", workflow="search", recall={"budget": memory_tokens, "examples": 1},
               record={"episode": episode, "lessons": "reflections"})
    return graph.compile(checkpointer=checkpointer)

