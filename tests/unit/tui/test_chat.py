"""The chat screen, driven headless with the scripted model: sending, streaming, cancelling, the reasoning
panel and its search tree, earlier turns reaching the workflow, history, and every failure of the issue's
point 7 ending as a message in the app, never a traceback."""

import asyncio
import time

import pytest

pytest.importorskip("textual")

from textual.widgets import TextArea

from agentkit.models.testing import ScriptedModel
from agentkit.tui.app import AgentkitApp
from agentkit.tui.widgets.composer import Composer
from agentkit.tui.widgets.reasoning import SearchTree, StepsLog
from agentkit.tui.widgets.turn import AnswerTurn, UserTurn
from tests.unit.workflows.test_search import SOLVABLE, VALUES, game24_model

SIZE = (100, 32)


def _app(model, **kwargs):
    kwargs.setdefault("history", ":memory:")
    return AgentkitApp(model=model, keymap="/nonexistent/tui.toml", **kwargs)


async def _send(pilot, text):
    composer = pilot.app.screen.query_one(Composer)
    composer.text = text
    await pilot.press("enter")


def _answers(app):
    return list(app.screen.query(AnswerTurn))


def _notes(app):
    return [n.message for n in app._notifications]


def test_enter_sends_the_answer_streams_and_both_are_stored():
    async def go():
        app = _app("scripted:Two plus two is **4**.\n\nAnswer: 4")
        async with app.run_test(size=SIZE) as pilot:
            await _send(pilot, "What is 2+2?")
            await app.workers.wait_for_complete()
            await pilot.pause()
            (answer,) = _answers(app)
            assert answer.status == "done" and answer.answer == "4"
            assert "Two plus two" in answer.text
            assert app.screen.query_one(Composer).text == ""  # sent, so cleared
            assert [t.content for t in app.screen.query(UserTurn)] == ["What is 2+2?"]  # type: ignore[attr-defined]
            messages = app.store.messages(1)
            assert [(m.role, m.status) for m in messages] == [("user", "done"), ("assistant", "done")]
            assert messages[1].usage["calls"] == 1 and messages[1].usage["answer"] == "4"

    asyncio.run(go())


def test_shift_enter_and_ctrl_j_make_new_lines_and_an_empty_message_is_not_sent():
    async def go():
        model = ScriptedModel(default="ok")
        app = _app(model)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("enter", "space", "enter")  # nothing typed, then only a blank
            assert app.screen.query_one(Composer).text == " " and model.requests == []
            app.screen.query_one(Composer).clear()
            await pilot.press("a", "shift+enter", "b", "ctrl+j", "c")
            assert app.screen.query_one(Composer).text == "a\nb\nc"
            assert model.requests == [] and _answers(app) == []
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            assert model.requests[0].messages[-1]["content"].endswith("a\nb\nc")

    asyncio.run(go())


def test_escape_cancels_within_a_second_and_keeps_the_partial_answer_marked_cancelled():
    async def go():
        words = " ".join(f"word{i}" for i in range(400))
        app = _app(ScriptedModel(default=words, rate=50))
        async with app.run_test(size=SIZE) as pilot:
            await _send(pilot, "Talk for a long time.")
            await asyncio.sleep(0.6)
            started = time.perf_counter()
            await pilot.press("escape")
            await app.workers.wait_for_complete()
            assert time.perf_counter() - started < 1.0
            await pilot.pause()
            (answer,) = _answers(app)
            assert answer.status == "cancelled" and "word3" in answer.text and "word399" not in answer.text
            stored = app.store.messages(1)[1]
            assert stored.status == "cancelled" and stored.content == answer.text

    asyncio.run(go())


def test_earlier_turns_reach_the_workflow():
    async def go():
        model = ScriptedModel(["Hello, Ada!", "Your name is Ada."])
        app = _app(model)
        async with app.run_test(size=SIZE) as pilot:
            await _send(pilot, "My name is Ada.")
            await app.workers.wait_for_complete()
            await _send(pilot, "What is my name?")
            await app.workers.wait_for_complete()
        first, second = (r.messages[-1]["content"] for r in model.requests)
        assert "Earlier in this conversation" not in first
        assert "User: My name is Ada.\nAssistant: Hello, Ada!" in second and second.endswith("Now: What is my name?")

    asyncio.run(go())


def test_a_tree_search_draws_its_tree_with_pruned_nodes_and_the_chosen_path():
    async def go():
        app = _app(game24_model(SOLVABLE, VALUES), workflow="tot task=game24 algo=bfs breadth=2")
        async with app.run_test(size=SIZE) as pilot:
            await _send(pilot, "4 9 10 13")
            await app.workers.wait_for_complete()
            await pilot.pause()
            tree = app.screen.query_one(SearchTree)
            assert not tree.has_class("-empty") and len(tree.nodes_by_id) > 3
            pruned = [i for i, info in tree.info.items() if info.get("pruned")]
            chosen = [i for i, info in tree.info.items() if info.get("chosen")]
            assert pruned and chosen and 0 in chosen
            assert all("dim" in str(tree.nodes_by_id[i].label.spans) for i in pruned)
            assert _answers(app)[0].answer is not None
            tree.focus()
            await pilot.press("down")
            await pilot.pause()
            shown = str(app.screen.query_one("#node-text").render())
            assert shown.startswith("node #")

    asyncio.run(go())


def test_react_steps_stream_into_the_log_and_an_invalid_action_is_flagged():
    replies = ["Thought: multiply.\nAction: calculator[17 * 23]", "Thought: done.\nAction: finish[391]"]
    async def go():
        app = _app(ScriptedModel(replies), workflow="react")
        async with app.run_test(size=SIZE) as pilot:
            await _send(pilot, "What is 17 * 23?")
            await app.workers.wait_for_complete()
            await pilot.pause()
            log = app.screen.query_one(StepsLog)
            text = "\n".join(str(line.text) for line in log.lines)
            assert "calculator" in text and "391" in text and log.steps >= 3

    asyncio.run(go())


def test_a_missing_model_shows_the_hint_and_keeps_the_typed_message(tmp_path):
    async def go():
        app = _app(f"llamacpp:{tmp_path}/missing.gguf")
        async with app.run_test(size=SIZE) as pilot:
            await _send(pilot, "Hello there")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.screen.query_one(Composer).text == "Hello there"
            assert any("missing.gguf" in n for n in _notes(app)), _notes(app)
            assert _answers(app) == []

    asyncio.run(go())


def test_a_server_that_is_down_fails_the_turn_inline_and_retry_runs_it_again():
    async def go():
        app = _app("openai:http://127.0.0.1:9/v1#m?retries=0&timeout=2")
        async with app.run_test(size=SIZE) as pilot:
            await _send(pilot, "Hello")
            await app.workers.wait_for_complete()
            await pilot.pause()
            (answer,) = _answers(app)
            assert answer.status == "failed" and "127.0.0.1:9" in answer.error
            assert "ctrl+r" in str(answer.query_one(".answer-status").render())
            app.model_spec = "scripted:Back up."  # the server is back
            await pilot.press("ctrl+r")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert [a.status for a in _answers(app)] == ["failed", "done"]
            assert [m.role for m in app.store.messages(1)] == ["user", "assistant", "assistant"]

    asyncio.run(go())


def _explode(**_):
    from langgraph.graph import END, START, StateGraph

    from agentkit.context import RunContext

    def solve(state):
        raise RuntimeError("the solver broke")

    graph = StateGraph(dict, context_schema=RunContext)
    graph.add_node("solve", solve)
    graph.add_edge(START, "solve")
    graph.add_edge("solve", END)
    return graph.compile()


def test_a_workflow_error_fails_the_turn_and_names_the_node():
    async def go():
        app = _app("scripted:x", workflow=f"{__name__}:_explode")
        async with app.run_test(size=SIZE) as pilot:
            await _send(pilot, "Hi")
            await app.workers.wait_for_complete()
            await pilot.pause()
            (answer,) = _answers(app)
            assert answer.status == "failed" and answer.error.startswith("solve: RuntimeError: the solver broke")
            assert app.store.messages(1)[1].status == "failed"

    asyncio.run(go())


def test_a_bad_module_function_is_a_notification_and_the_workflow_stays():
    async def go():
        app = _app("scripted:x")
        async with app.run_test(size=SIZE) as pilot:
            app.set_workflow("no_such_module_xyz:build")
            await pilot.pause()
            assert str(app.workflow) == "cot"
            assert any("no_such_module_xyz" in n for n in _notes(app))
            app.set_workflow("sc n=3")
            assert str(app.workflow) == "sc n=3"

    asyncio.run(go())


def test_a_100_kb_paste_and_malformed_markdown_at_80x24():
    broken = "```python\nunclosed fence\n| a | b |\n|---\n**bold _mixed* [link](  \n<div>" * 20

    async def go():
        app = _app(ScriptedModel(default=broken))
        async with app.run_test(size=(80, 24)) as pilot:
            composer = app.screen.query_one(Composer)
            started = time.perf_counter()
            composer.insert("x" * 100_000)
            await pilot.pause()
            assert time.perf_counter() - started < 2.0 and len(composer.text) == 100_000
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            (answer,) = _answers(app)
            assert answer.status == "done" and answer.query_one(".answer-body")

    asyncio.run(go())


def test_a_reopened_conversation_shows_its_turns_and_its_last_reasoning(tmp_path):
    history = tmp_path / "chats.sqlite"

    async def first():
        app = _app(ScriptedModel(["Thinking about it. Answer: 4"]), history=history)
        async with app.run_test(size=SIZE) as pilot:
            await _send(pilot, "2+2?")
            await app.workers.wait_for_complete()

    async def second():
        app = _app("scripted:unused", history=history)
        async with app.run_test(size=SIZE) as pilot:
            await app.chat.open_conversation(1)
            await pilot.pause()
            assert [a.text for a in _answers(app)] == ["Thinking about it. Answer: 4"]
            log = app.screen.query_one(StepsLog)
            assert any("answer: 4" in str(line.text) for line in log.lines)

    asyncio.run(first())
    asyncio.run(second())


def test_composer_is_a_text_area_that_keeps_focus_after_sending():
    async def go():
        app = _app("scripted:ok")
        async with app.run_test(size=SIZE) as pilot:
            await _send(pilot, "hi")
            await app.workers.wait_for_complete()
            assert isinstance(app.focused, TextArea)

    asyncio.run(go())


def test_the_usage_bar_counts_the_turn():
    async def go():
        app = _app("scripted:one two three")
        async with app.run_test(size=SIZE) as pilot:
            await _send(pilot, "count")
            await app.workers.wait_for_complete()
            await pilot.pause()
            bar = str(app.screen.query_one("#usage").render())
            assert "calls 1" in bar and "completion 3" in bar

    asyncio.run(go())


def test_an_mcts_tree_shows_visit_counts_as_the_search_backs_values_up():
    async def go():
        app = _app(game24_model(SOLVABLE, VALUES), workflow="mcts task=game24 iterations=4 k=2")
        async with app.run_test(size=SIZE) as pilot:
            await _send(pilot, "4 9 10 13")
            await app.workers.wait_for_complete()
            await pilot.pause()
            tree = app.screen.query_one(SearchTree)
            visited = {i: info["detail"] for i, info in tree.info.items() if "visits" in info.get("detail", "")}
            assert 0 in visited and int(visited[0].split()[0]) >= 4  # the root is visited on every backup
            assert "visits" in str(tree.nodes_by_id[0].label)

    asyncio.run(go())


def test_ctrl_g_copies_the_last_answer_and_ctrl_s_exports_the_conversation(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTKIT_DATA", str(tmp_path))

    async def go():
        app = _app("scripted:The answer is **4**.")
        async with app.run_test(size=SIZE) as pilot:
            await _send(pilot, "2+2?")
            await app.workers.wait_for_complete()
            await pilot.press("ctrl+w")  # the composer's own key (delete a word), not the app's
            assert app.screen.__class__.__name__ == "ChatScreen"
            await pilot.press("ctrl+g")
            assert app.clipboard == "The answer is **4**."
            await pilot.press("ctrl+s")
            await pilot.pause()
        exported = (tmp_path / "exports" / "chat-1.md").read_text()
        assert "## You\n\n2+2?" in exported and "The answer is **4**." in exported

    asyncio.run(go())
