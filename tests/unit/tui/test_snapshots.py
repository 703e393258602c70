"""SVG snapshots of the terminal UI (pytest-textual-snapshot): a chat with a streamed answer, a ReAct run, a
ToT tree with pruned nodes, the memory panel and the runs screen. Deterministic: the scripted model, no
cursor blink, a fixed clock for the usage bar, a fixed size. ``pytest --snapshot-update`` redraws them after a
deliberate change; look at the SVGs before committing them."""

import json

import pytest

pytest.importorskip("textual")
pytest.importorskip("pytest_textual_snapshot")

from agentkit.memory.embed import HashEmbedder  # noqa: E402
from agentkit.memory.experience import Memory  # noqa: E402
from agentkit.memory.records import Insight, Reflection, TrajectoryRecord  # noqa: E402
from agentkit.models.testing import ScriptedModel  # noqa: E402
from agentkit.tui.app import AgentkitApp  # noqa: E402
from agentkit.tui.screens.runs import RunsScreen  # noqa: E402
from agentkit.tui.widgets.composer import Composer  # noqa: E402
from tests.unit.workflows.test_search import SOLVABLE, VALUES, game24_model  # noqa: E402

SIZE = (110, 34)
ANSWER = """To sum the list, loop over it:

```python
def total(xs):
    return sum(xs)
```

| input | output |
| --- | --- |
| `[1, 2, 3]` | 6 |

Answer: 6"""


def _app(model, **kwargs):
    app = AgentkitApp(model=model, history=":memory:", keymap="/nonexistent/tui.toml", **kwargs)
    app.clock = lambda ctx: 1.5  # the usage bar's seconds
    return app


def _asking(question, *, side=None):
    async def run_before(pilot):
        composer = pilot.app.screen.query_one(Composer)
        composer.cursor_blink = False
        composer.text = question
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        if side:
            pilot.app.screen.query_one("#side").active = side
        await pilot.pause()
        composer.cursor_blink = False

    return run_before


def test_chat_with_a_streamed_markdown_answer(snap_compare):
    app = _app(ScriptedModel([ANSWER]))
    assert snap_compare(app, terminal_size=SIZE, run_before=_asking("How do I sum a list in Python?"))


def test_a_react_run(snap_compare):
    replies = ["Thought: I should multiply.\nAction: calculator[17 * 23]", "Thought: Not a tool.\nAction: dance[]",
               "Thought: That is the product.\nAction: finish[391]"]
    app = _app(ScriptedModel(replies), workflow="react")
    assert snap_compare(app, terminal_size=SIZE, run_before=_asking("What is 17 * 23?"))


def test_a_tot_tree_with_pruned_nodes(snap_compare):
    app = _app(game24_model(SOLVABLE, VALUES), workflow="tot task=game24 algo=bfs breadth=2")
    assert snap_compare(app, terminal_size=SIZE, run_before=_asking("4 9 10 13"))


def test_the_memory_panel(snap_compare, tmp_path):
    memory = Memory(tmp_path / "mem", embedder=HashEmbedder())
    won = memory.add(TrajectoryRecord(task="multiply 17 by 23", won=True, created=0.0,
                                      steps=[{"thought": "use the tool", "action": "calculator[17*23]",
                                              "observation": "391"}]))
    memory.add(Reflection(trajectory_id=won, task="multiply 17 by 23", text="Check the product twice.", created=0.0))
    memory.add(Insight(text="Use the calculator for products of two-digit numbers.", strength=3, created=0.0))
    replies = ["Thought: use it.\nAction: calculator[17 * 23]", "Thought: done.\nAction: finish[391]"]
    app = _app(ScriptedModel(replies), workflow="react", memory=memory)
    assert snap_compare(app, terminal_size=SIZE, run_before=_asking("multiply 17 by 23", side="tab-memory"))
    memory.close()


def test_the_runs_screen(snap_compare, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run").mkdir()
    lines = []
    for i in range(6):
        steps = [{"thought": f"look around {j}", "action": f"open door {j}", "observation": f"Room {j}.",
                  "valid": j != 1} for j in range(i % 3 + 1)]
        lines.append(json.dumps({"task_id": f"coin-{i}", "task": "find the coin", "opening": "You are in a hall.",
                                 "won": i % 2 == 0, "reward": float(i % 2 == 0), "steps": len(steps),
                                 "seconds": 10.0 + i, "trajectory": steps,
                                 "stop_reason": None if i % 2 == 0 else "step limit reached (3)"}))
    (tmp_path / "run" / "episodes.jsonl").write_text("\n".join(lines) + "\n")

    async def run_before(pilot):
        pilot.app.push_screen(RunsScreen("run"))
        await pilot.pause()
        pilot.app.screen.query_one("#episodes").focus()
        await pilot.press("down", "right_square_bracket", "right_square_bracket")
        await pilot.pause()

    assert snap_compare(_app(ScriptedModel([])), terminal_size=SIZE, run_before=run_before)
