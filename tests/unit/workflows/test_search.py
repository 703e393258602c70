"""Tree-of-Thoughts and MCTS control flow on Game of 24 with a scripted model: pruning, backtracking,
beam ranking, UCT backpropagation, reflections, budgets and checkpoint resume."""

import asyncio

import pytest

from agentkit.context import RunContext
from agentkit.events import Done, NodeEnd, NodeStart, Prune, Score, Stopped
from agentkit.limits import Limits
from agentkit.models.testing import ScriptedModel
from agentkit.runtime import open_checkpointer, run, stream_run
from agentkit.workflows import mcts, tot
from agentkit.workflows.search import Beam, make_algorithm
from agentkit.workflows.search.algorithms import Search


def _key(numbers: str) -> str:
    return " ".join(sorted(numbers.split(), key=float))


def game24_model(steps, values=None, *, default_value="likely", lesson="Multiply the small numbers first."):
    """A scripted model answering the Game of 24 prompts: ``steps`` and ``values`` are keyed by the sorted
    numbers left. Every prompt it saw is in ``model.requests``."""
    values = values or {}

    def respond(req):
        system, user = req.messages[0]["content"], req.messages[-1]["content"]
        if "possible next steps" in system:
            lines = steps.get(_key(user.split("Numbers left:")[-1]), [])
            if callable(lines):
                lines = lines(user)
            return "\n".join(lines)
        if "Judge whether" in system:
            return "Let me try.\n" + values.get(_key(user.split("Numbers:")[-1]), default_value)
        if "failed to make 24" in system:
            return lesson
        raise AssertionError(f"unexpected prompt: {system[:60]}")

    return ScriptedModel(respond)


SOLVABLE = {
    "4 9 10 13": ["13 - 9 = 4 (left: 4 4 10)", "4 + 9 = 13 (left: 10 13 13)", "10 - 4 = 7 (left: 7 9 13)"],
    "4 4 10": ["10 - 4 = 6 (left: 4 6)", "4 * 4 = 16 (left: 10 16)"],
    "4 6": ["4 + 6 = 10 (left: 10)", "4 * 6 = 24 (left: 24)"],
}
VALUES = {"4 4 10": "sure", "10 13 13": "impossible", "4 6": "sure", "10 16": "impossible"}


def _events(graph, question, ctx):
    async def go():
        return [e async for e in stream_run(graph, {"question": question}, ctx)]

    events = asyncio.run(go())
    assert isinstance(events[-1], Done)
    return events[-1].state, events


def test_bfs_keeps_the_best_and_prunes_the_rest():
    model = game24_model(SOLVABLE, VALUES)
    state, events = _events(tot.build(task="game24", algo="bfs", breadth=1), "4 9 10 13", RunContext(model))
    assert state["answer"] == "(13 - 9) * (10 - 4)" and state["stop_reason"] == "solved"
    prunes = [e for e in events if isinstance(e, Prune)]
    assert any("10 - 4 = 7" in e.item and "is 6, not 7" in e.reason for e in prunes)  # a model slip, pruned
    assert any("4 + 9 = 13" in e.item and "best 1" in e.reason for e in prunes)
    assert any(isinstance(e, Score) and e.value == 1.0 for e in events)
    # the 10 13 13 branch was never expanded: breadth 1 kept only the 4 4 10 branch
    assert not any("Numbers left: 10 13 13" in r.messages[-1]["content"] for r in model.requests)
    assert any(isinstance(e, NodeStart) and e.node == "expand" for e in events)
    assert any(isinstance(e, NodeEnd) and e.node == "integrate" for e in events)


def test_dfs_backtracks_from_a_dead_end():
    steps = {
        "4 9 10 13": ["13 - 10 = 3 (left: 3 4 9)", "13 - 9 = 4 (left: 4 4 10)"],
        "3 4 9": ["3 + 4 = 7 (left: 7 9)"],
        **{k: v for k, v in SOLVABLE.items() if k != "4 9 10 13"},
    }
    values = {**VALUES, "3 4 9": "sure", "4 4 10": "likely", "7 9": "impossible"}
    model = game24_model(steps, values)
    state, events = _events(tot.build(task="game24", algo="dfs", threshold=0.3), "4 9 10 13", RunContext(model))
    assert state["answer"] == "(13 - 9) * (10 - 4)"
    expanded = [r.messages[-1]["content"].split("Numbers left: ")[-1] for r in model.requests
                if "possible next steps" in r.messages[0]["content"]]
    assert [_key(x) for x in expanded] == ["4 9 10 13", "3 4 9", "4 4 10", "4 6"]  # best first, then back up
    assert any("dead end" in e.reason for e in events if isinstance(e, Prune))


def test_beam_ranks_by_the_whole_path():
    tree = [
        {"id": 0, "parent": None, "value": 0.0, "reward": None, "children": [1, 2]},
        {"id": 1, "parent": 0, "value": 1.0, "reward": None, "children": [3]},
        {"id": 2, "parent": 0, "value": 0.2, "reward": None, "children": [4]},
        {"id": 3, "parent": 1, "value": 0.3, "reward": None, "children": [], "terminal": False},
        {"id": 4, "parent": 2, "value": 0.5, "reward": None, "children": [], "terminal": False},
    ]
    search = Search(tree, frontier=[1, 2])
    Beam(width=1).update(search, [1, 2])
    assert search.frontier == [3]  # mean(1.0, 0.3) beats mean(0.2, 0.5), though 4's own value is higher
    search = Search(tree, frontier=[1, 2])
    make_algorithm("bfs", breadth=1).update(search, [1, 2])
    assert search.frontier == [4]  # BFS ranks by the state's own value


@pytest.mark.parametrize("algo", ["bfs", "dfs", "beam", "mcts"])
def test_one_problem_runs_under_every_algorithm_by_one_argument(algo):
    model = game24_model(SOLVABLE, VALUES)
    build = mcts.build if algo == "mcts" else tot.build
    options = {"task": "game24"} if algo == "mcts" else {"task": "game24", "algo": algo}
    state = asyncio.run(run(build(**options), {"question": "4 9 10 13"}, RunContext(model)))
    assert state["answer"] == "(13 - 9) * (10 - 4)", algo


def test_mcts_backpropagates_and_carries_reflections_into_later_proposals():
    steps = {
        "2 3 4": ["2 + 3 = 5 (left: 4 5)", "3 + 4 = 7 (left: 2 7)"],
        "4 5": ["4 + 5 = 9 (left: 9)"],
        "2 7": lambda user: ["2 * 7 = 14 (left: 14)"],
    }
    model = game24_model(steps, {"4 5": "likely", "2 7": "impossible"}, lesson="Multiply instead of adding.")
    state, events = _events(mcts.build(task="game24", iterations=3, k=2), "2 3 4", RunContext(model))
    assert state["reflections"][0] == "Multiply instead of adding."
    later = [r for r in model.requests if "Numbers left: 2 7" in r.messages[-1]["content"]]
    assert later and "Multiply instead of adding." in later[0].messages[-1]["content"]
    root = state["tree"][0]
    assert root["visits"] == 4  # two children in round 1, one grandchild in rounds 2 and 3 each
    assert state["stop_reason"] in ("iteration limit reached (3)", "search space exhausted")


def test_a_call_budget_stops_the_search_cleanly_even_with_concurrent_branches():
    model = game24_model(SOLVABLE, VALUES)
    ctx = RunContext(model, limits=Limits(calls=3))
    state, events = _events(tot.build(task="game24", algo="bfs", breadth=3), "4 9 10 13", ctx)
    assert state["stop_reason"] == "call limit reached (3 of 3 calls)"
    assert len(model.requests) == 3 and ctx.spent.calls == 3
    assert any(isinstance(e, Stopped) for e in events)
    assert "answer" in state  # finished cleanly, with or without an answer


def test_unparseable_replies_are_recorded_not_raised():
    model = ScriptedModel(default="I like turtles.")
    state, events = _events(tot.build(task="game24", algo="bfs"), "4 9 10 13", RunContext(model))
    assert state["answer"] is None and "no path reached an answer" in state["error"]
    assert any("model mistake" in e.reason for e in events if isinstance(e, Prune))


def test_an_interrupted_search_resumes_from_its_checkpoint(tmp_path):
    calls = {"n": 0}
    inner = game24_model(SOLVABLE, VALUES)

    def flaky(req):
        calls["n"] += 1
        if calls["n"] == 4:
            raise ConnectionError("the server went away")
        return inner._responder(req)

    async def go():
        async with open_checkpointer(tmp_path / "ck.sqlite") as saver:
            graph = tot.build(task="game24", algo="bfs", breadth=1, checkpointer=saver)
            with pytest.raises(ConnectionError):
                await run(graph, {"question": "4 9 10 13"}, RunContext(ScriptedModel(flaky)), thread_id="t")
            first = calls["n"]
            state = await run(graph, {"question": "ignored on resume"}, RunContext(ScriptedModel(flaky)), thread_id="t")
            return first, state

    first, state = asyncio.run(go())
    assert state["answer"] == "(13 - 9) * (10 - 4)" and state["question"] == "4 9 10 13"
    # level 1 (1 propose + 2 values) was checkpointed, so resuming redid only the failed level-2 branch
    assert first == 4 and calls["n"] == 8  # from scratch it would be 4 + 8
