import asyncio
from pathlib import Path

import pytest

from agentkit.context import RunContext
from agentkit.errors import UserError
from agentkit.events import Answer, Thought, Token
from agentkit.models.testing import ScriptedModel
from agentkit.workflows.cot import build
from agentkit.workflows.nodes import find_answer
from agentkit.workflows.registry import get_builder

SNAPSHOTS = Path(__file__).parent / "snapshots"


async def _run(model, question="What is 2+2?"):
    events, state = [], {}
    async for mode, chunk in build().astream({"question": question}, context=RunContext(model, max_tokens=64),
                                             stream_mode=["custom", "values"]):
        if mode == "values":
            state = chunk
        else:
            events.append(chunk)
    return state, events


def test_cot_streams_reasoning_and_extracts_the_answer():
    model = ScriptedModel(["Two and two make four.\nAnswer: 4"])
    state, events = asyncio.run(_run(model))
    assert state["answer"] == "4" and state["error"] is None
    assert "".join(e.text for e in events if isinstance(e, Token)) == "Two and two make four.\nAnswer: 4"
    assert [type(e) for e in events if not isinstance(e, Token)] == [Thought, Answer]
    system, user = model.requests[0].messages
    assert system["role"] == "system" and "Answer:" in system["content"]
    assert user == {"role": "user", "content": "What is 2+2?"}
    assert model.requests[0].max_tokens == 64


def test_a_missing_answer_is_recorded_not_raised():
    state, events = asyncio.run(_run(ScriptedModel(["I am not sure."])))
    assert state["answer"] is None and "no 'Answer:' line" in state["error"]
    assert events[-1] == Answer(None, state["error"])


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("so 4.\nAnswer: 4", "4"),
        ("**Answer:** 12 apples.", "12 apples"),
        ("Answer: 3\nWait, recheck.\nFinal answer: 5", "5"),
        ("The answer is: Paris", "Paris"),
        ("Total: \\(\\boxed{8}\\) dollars.", "8"),
        ("first \\boxed{1}, then \\boxed{\\frac{2}{3}}", "\\frac{2}{3}"),
        ("Answer: 7, not \\boxed{9}", "7, not \\boxed{9}"),
        ("No conclusion", None),
        ("Answer:   ", None),
    ],
)
def test_find_answer(text, answer):
    assert find_answer(text) == answer


def test_graph_drawing_matches_the_snapshot():
    drawing = build().get_graph().draw_mermaid()
    snapshot = SNAPSHOTS / "cot.mmd"
    if not snapshot.exists():
        snapshot.write_text(drawing)
        pytest.fail(f"wrote a new snapshot {snapshot}: review and commit it")
    assert drawing == snapshot.read_text()


def test_workflows_resolve_by_name_or_import_path():
    assert get_builder("cot") is build
    assert get_builder("agentkit.workflows.cot:build") is build
    with pytest.raises(UserError, match="Unknown workflow 'treeofthought'"):
        get_builder("treeofthought")
    with pytest.raises(UserError, match="Cannot import workflow module 'nope'"):
        get_builder("nope:build")
