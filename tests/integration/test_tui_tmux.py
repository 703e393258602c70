"""``agentkit tui`` in a real terminal: started under tmux, a question typed, the answer read off the screen
with ``capture-pane``, the app quit with Ctrl+Q, and the conversation found in the history file."""

import shutil
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest

pytest.importorskip("textual")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]


def _tmux(*args):
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def _alive(session):
    return subprocess.run(["tmux", "has-session", "-t", session], capture_output=True).returncode == 0


def _wait_for(session, text, seconds=60):
    deadline = time.monotonic() + seconds
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", session)
        if text in screen:
            return screen
        time.sleep(0.2)
    pytest.fail(f"{text!r} never appeared on the screen:\n{screen}")


def test_agentkit_tui_in_tmux_answers_a_typed_question(tmp_path):
    session = f"agentkit-{uuid.uuid4().hex[:8]}"
    history = tmp_path / "chats.sqlite"
    command = (f"env AGENTKIT_DATA={tmp_path} AGENTKIT_CONFIG={tmp_path} {sys.executable} -m agentkit.cli tui "
               f"--model 'scripted:Six times seven is **42**.' --history {history}")
    _tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)
    try:
        _wait_for(session, "no run yet")
        _tmux("send-keys", "-t", session, "-l", "What is six times seven?")
        _tmux("send-keys", "-t", session, "Enter")
        screen = _wait_for(session, "Six times seven is 42")
        assert "What is six times seven?" in screen
        _tmux("send-keys", "-t", session, "C-q")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _alive(session):
            time.sleep(0.2)
        assert not _alive(session), "Ctrl+Q did not quit the app"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    with sqlite3.connect(history) as db:
        rows = db.execute("SELECT role, content, status FROM messages ORDER BY id").fetchall()
    assert rows == [("user", "What is six times seven?", "done"), ("assistant", "Six times seven is **42**.", "done")]
