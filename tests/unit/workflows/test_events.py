"""Events a UI can draw: a search tree (ToT, MCTS) or a graph of thoughts (GoT) rebuilt from the event stream
alone equals the one in the final state; recall is a typed event; ``describe`` gives every face the same line."""

import asyncio

import pytest

from agentkit.context import RunContext
from agentkit.events import (
    Action, Answer, Done, Expand, NodeEnd, NodeStart, Observation, Prune, Recalled, RecalledItem, Score, Stopped,
    Thought, Token, describe,
)
from agentkit.models.testing import ScriptedModel
from agentkit.runtime import stream_run
from agentkit.workflows import got, mcts, tot
from agentkit.workflows.tasks import get_task
from tests.unit.workflows.test_search import SOLVABLE, VALUES, game24_model


def _stream(graph, question, model):
    async def go():
        return [e async for e in stream_run(graph, {"question": question}, RunContext(model))]

    events = asyncio.run(go())
    assert isinstance(events[-1], Done)
    return events[-1].state, events


@pytest.mark.parametrize("build", [lambda: tot.build(task="game24", algo="bfs", breadth=2),
                                   lambda: tot.build(task="game24", algo="dfs"),
                                   lambda: mcts.build(task="game24", iterations=4, k=2)], ids=["bfs", "dfs", "mcts"])
def test_a_search_tree_rebuilt_from_its_events_is_the_final_states_tree(build):
    state, events = _stream(build(), "4 9 10 13", game24_model(SOLVABLE, VALUES))
    world = get_task("game24").search("4 9 10 13")[0]
    rebuilt = {e.id: (e.parent, e.action, e.text, e.terminal) for e in events if isinstance(e, Expand)}
    final = {n["id"]: (n["parent"], str(n["action"]) if n["action"] is not None else "", world.describe(n["state"]),
                       n["terminal"]) for n in state["tree"]}
    assert rebuilt == final and len(final) > 3
    values = {e.id: e.reward if e.reward is not None else e.value for e in events if isinstance(e, Expand) and e.id}
    assert values == {n["id"]: n["reward"] if n["reward"] is not None else n["value"] for n in state["tree"][1:]}
    for e in events:  # every pruned or scored item names a node of that tree
        if isinstance(e, Prune | Score):
            assert (e.id is None or e.id in final) and (e.parent is None or e.parent in final), e


def test_a_graph_of_thoughts_rebuilt_from_its_events_is_the_final_states_graph():
    model = ScriptedModel(["Answer: 13 + 9", "no answer here", "Answer: 4 * 9", "Answer: 13 + 9 + 4 - 10",
                           "Answer: 4 + 9 + 10 + 13", "Answer: (13 - 9) * (10 - 4)"])
    state, events = _stream(got.build(task="game24", k=3, keep=2, refine_rounds=3), "4 9 10 13", model)
    nodes = [e for e in events if isinstance(e, Expand)]
    assert nodes[0].id == 0 and nodes[0].parent is None and nodes[0].text == "4 9 10 13"
    rebuilt = [(e.id, list(e.sources) or [e.parent]) for e in nodes[1:]]
    assert rebuilt == [(t["id"], t["parents"]) for t in state["thoughts"]]
    assert [t["origin"] for t in state["thoughts"]] == ["sample"] * 3 + ["aggregate", "refine", "refine"]
    aggregate = next(e for e in nodes if e.node == "aggregate")
    assert len(aggregate.sources) == 2 and aggregate.parent == aggregate.sources[0]  # it merged the two kept
    scored = {e.id for e in events if isinstance(e, Score)}
    assert scored == {t["id"] for t in state["thoughts"]}  # each thought's score names it
    assert any(isinstance(e, Prune) and e.id in (1, 2, 3) for e in events)  # the one not kept


def test_recall_is_a_typed_event_naming_each_record_its_score_and_tokens():
    from agentkit.memory.embed import HashEmbedder
    from agentkit.memory.experience import Memory
    from agentkit.memory.records import Insight, TrajectoryRecord
    from agentkit.workflows import react
    from tests.unit.envs.fakes import Coin

    memory = Memory(None, embedder=HashEmbedder())
    won = memory.add(TrajectoryRecord(task="take the coin", env="coin", task_type="even", won=True,
                                      steps=[{"action": "take coin", "observation": "You take the coin."}]))
    rule = memory.add(Insight(text="Take what the task names at once.", env="coin"))
    env = Coin()

    async def go():
        ctx = RunContext(ScriptedModel(["Thought: take it.\nAction: take coin"]), env=env, memory=memory)
        return [e async for e in stream_run(react.build(max_steps=2), {"task_id": "t0"}, ctx)]

    events = asyncio.run(go())
    asyncio.run(env.close())
    (recalled,) = [e for e in events if isinstance(e, Recalled)]
    assert {(i.id, i.kind) for i in recalled.items} == {(won, "trajectory"), (rule, "insight")}
    assert all(i.score is not None and i.tokens > 0 for i in recalled.items)
    assert sum(i.tokens for i in recalled.items) <= recalled.tokens
    assert "Take what the task names at once." in recalled.text
    assert describe(recalled) == f"recalled 1 insight, 1 trajectory ({recalled.tokens} tokens)"


def test_describe_gives_one_line_for_every_event():
    lines = [describe(e) for e in (
        NodeStart("think"), NodeEnd("think", "ValueError('x')"), Token("generate", "Two"),
        Thought("think", "look first"), Action("act", "look"), Action("act", "fly", valid=False),
        Observation("act", "A hall."), Score("evaluate", "4 6", 0.75, "sure"), Prune("integrate", "4 6", "too low"),
        Expand("integrate", id=4, parent=1, text="4 6", action="10 - 4 = 6", value=0.9),
        Expand("aggregate", id=5, parent=2, text="24", sources=(2, 3)),
        Recalled("recall", (RecalledItem(1, "insight", 0.8, 12),), 20, "Rules ..."), Stopped("call limit reached"),
        Answer("4"), Answer(None, "no Answer: line"), Done({}, None))]
    assert lines == [
        "[NodeStart think]", "[NodeEnd think] error: ValueError('x')", "Two", "· think: look first", "→ look",
        "→ fly  (invalid)", "  A hall.", "  evaluate 0.75  4 6  (sure)", "  ✂ 4 6: too low",
        "  + #4 ← #1  10 - 4 = 6 → 4 6  (0.90)", "  + #5 ← #2 (merges #2, #3)  24", "recalled 1 insight (20 tokens)",
        "stopped: call limit reached", "4", "No answer: no Answer: line", "done"]
    assert describe(object()) == "[object]"  # an event type nobody registered still gets a line
