"""The chat history: written as the answer streams (at least every half second), marked interrupted after a
kill -9, searchable, exportable, and a file that is not a history is refused with what to do."""

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentkit.errors import UserError
from agentkit.tui import store as store_module
from agentkit.tui.store import ChatStore

ROOT = Path(__file__).resolve().parents[3]


def _stored_answer(path):
    with sqlite3.connect(path) as db:  # a second reader, as after a crash
        row = db.execute("SELECT content, status FROM messages WHERE role='assistant' ORDER BY id DESC").fetchone()
    return row


def test_a_streamed_answer_is_committed_at_least_every_half_second(tmp_path):
    path = tmp_path / "chats.sqlite"
    store = ChatStore(path)
    chat = store.new_conversation("t")
    store.add_message(chat, "user", "Count.")
    writer = store.start_answer(chat)
    assert _stored_answer(path) == ("", "streaming")  # the row exists before the first token
    written, seen = [], []  # when each character was written; (when, characters on disk)
    started = time.monotonic()
    while time.monotonic() - started < 1.3:
        writer.write("x")
        written.append(time.monotonic())
        seen.append((time.monotonic(), len(_stored_answer(path)[0])))
        time.sleep(0.02)
    for at, stored in seen:  # what is on disk is never more than half a second behind
        assert stored >= sum(1 for t in written if t <= at - store_module.FLUSH_SECONDS - 0.1)
    assert any(stored < i + 1 for i, (_, stored) in enumerate(seen))  # batched, not a commit per token
    writer.event("Thought", {"node": "generate", "text": "hm"})
    writer.finish("done", usage={"calls": 1})
    content, status = _stored_answer(path)
    assert status == "done" and content == "x" * len(written)
    assert store.events(writer.message) == [{"kind": "Thought", "node": "generate", "text": "hm"}]
    store.close()


def test_rows_still_streaming_when_a_store_opens_are_marked_interrupted(tmp_path):
    path = tmp_path / "chats.sqlite"
    store = ChatStore(path)
    chat = store.new_conversation("t")
    writer = store.start_answer(chat)
    writer.write("part")
    writer.flush()
    store.close()
    again = ChatStore(path)
    assert again.interrupted == 1
    assert [(m.content, m.status) for m in again.messages(chat)] == [("part", "interrupted")]
    assert ChatStore(path).interrupted == 0  # marked once


def test_search_is_full_text_and_odd_syntax_is_searched_as_a_phrase():
    store = ChatStore(":memory:")
    a = store.new_conversation("recipes")
    b = store.new_conversation("maths")
    store.add_message(a, "user", "How long do I boil an egg?")
    store.add_message(b, "user", "What is the derivative of x^2?")
    assert [h.conversation for h in store.search("egg")] == [a]
    assert [h.conversation for h in store.search("derivative")] == [b]
    assert "[egg]" in store.search("egg")[0].snippet
    assert [h.conversation for h in store.search('x^2 "unbalanced')] == []  # not FTS syntax: no crash
    assert store.search("   ") == []


def test_export_as_markdown_and_jsonl_keeps_statuses_and_events():
    store = ChatStore(":memory:")
    chat = store.new_conversation("t", model="qwen-0.5b", workflow="cot")
    store.add_message(chat, "user", "Hi")
    writer = store.start_answer(chat)
    writer.write("Hel")
    writer.event("Thought", {"node": "generate", "text": "Hel"})
    writer.finish("cancelled")
    markdown = store.export_markdown(chat)
    assert "# t" in markdown and "## You" in markdown and "## Assistant *(cancelled)*" in markdown
    lines = [json.loads(x) for x in store.export_jsonl(chat).splitlines()]
    assert [x["role"] for x in lines] == ["user", "assistant"]
    assert lines[1]["status"] == "cancelled" and lines[1]["events"][0]["kind"] == "Thought"
    with pytest.raises(UserError, match="No conversation 99"):
        store.export_markdown(99)


def test_a_file_that_is_not_a_history_is_refused_with_what_to_do(tmp_path):
    bad = tmp_path / "notes.sqlite"
    bad.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(UserError, match="not an agentkit chat history.*--history"):
        ChatStore(bad)


_STREAMING_APP = """
import asyncio, sys
from agentkit.models.testing import ScriptedModel
from agentkit.tui.app import AgentkitApp

async def main():
    words = " ".join(f"word{i}" for i in range(2000))
    app = AgentkitApp(model=ScriptedModel(default=words, rate=40), history=sys.argv[1], keymap="/nonexistent")
    async with app.run_test(size=(100, 30)) as pilot:
        app.screen.query_one("#composer").text = "Tell me everything."
        await pilot.press("enter")
        await asyncio.sleep(600)

asyncio.run(main())
"""


def test_kill_9_mid_answer_then_reopening_shows_the_prompt_the_partial_answer_and_the_interruption(tmp_path):
    path = tmp_path / "chats.sqlite"
    script = tmp_path / "streaming_app.py"
    script.write_text(_STREAMING_APP)
    proc = subprocess.Popen([sys.executable, str(script), str(path)], env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                row = _stored_answer(path) if path.exists() else None
            except sqlite3.OperationalError:  # the app has created the file, not yet its tables
                row = None
            if row is not None and len(row[0]) > 40:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the app never stored a partial answer")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    store = ChatStore(path)
    assert store.integrity() == "ok" and store.interrupted == 1
    user, answer = store.messages(1)
    assert user.content == "Tell me everything." and user.status == "done"
    assert answer.status == "interrupted" and answer.content.startswith("word0 word1")
    assert "word1999" not in answer.content
    store.close()

    from agentkit.tui.app import AgentkitApp
    from agentkit.tui.widgets.turn import AnswerTurn

    async def reopen():
        app = AgentkitApp(model="scripted:x", history=path, keymap="/nonexistent")
        async with app.run_test(size=(100, 30)) as pilot:
            await app.chat.open_conversation(1)
            await pilot.pause()
            (turn,) = app.screen.query(AnswerTurn)
            assert turn.status == "interrupted" and turn.text == answer.content
            assert "interrupted" in str(turn.query_one(".answer-status").render())

    asyncio.run(reopen())
