"""Chat history that survives: conversations, their messages and each answer's events, in SQLite (WAL).

The user's message is stored before its run starts; the answer is a row created at once with status
``streaming`` and rewritten as it grows, committed at least every half second (``AnswerWriter``), so a
``kill -9`` loses at most the last half second. A store that opens and finds rows still ``streaming`` marks
them ``interrupted``: they were being written when the app died. Messages are indexed for full-text search
(FTS5). The store is the app's only writer of this file; one connection, used from the app's event loop.

Example:
    >>> store = ChatStore(":memory:")
    >>> chat = store.new_conversation("sums", model="scripted", workflow="cot")
    >>> _ = store.add_message(chat, "user", "What is 2+2?")
    >>> writer = store.start_answer(chat)
    >>> writer.write("It is **4**.")
    >>> writer.finish()
    >>> [(m.role, m.content, m.status) for m in store.messages(chat)]
    [('user', 'What is 2+2?', 'done'), ('assistant', 'It is **4**.', 'done')]
    >>> [hit.conversation for hit in store.search("four OR 4")]
    [1]
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.errors import UserError

__all__ = ["STATUSES", "AnswerWriter", "ChatStore", "Conversation", "Hit", "Message"]

#: a message's status: ``streaming`` while written, ``interrupted`` when the app died meanwhile
STATUSES = ("done", "streaming", "cancelled", "failed", "interrupted")
FLUSH_SECONDS = 0.5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, model TEXT NOT NULL DEFAULT '',
    workflow TEXT NOT NULL DEFAULT '', options TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, conversation INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL, content TEXT NOT NULL, status TEXT NOT NULL, error TEXT NOT NULL DEFAULT '',
    usage TEXT NOT NULL DEFAULT '{}', created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation, id);
CREATE TABLE IF NOT EXISTS events (
    message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE, seq INTEGER NOT NULL,
    kind TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (message, seq));
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, content='messages', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END;
CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END;
CREATE TRIGGER IF NOT EXISTS messages_au AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END;
"""


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    title: str
    model: str
    workflow: str
    options: dict[str, Any]
    created: float
    updated: float


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    conversation: int
    role: str  # user | assistant
    content: str
    status: str
    error: str
    usage: dict[str, Any]
    created: float


@dataclass(frozen=True, slots=True)
class Hit:
    """A message that matched a search, with the matching words marked ``[...]``."""

    conversation: int
    message: int
    title: str
    snippet: str


class ChatStore:
    """The chat history in ``path`` (created if missing; ``":memory:"`` for a throwaway one).

    Raises:
        UserError: ``path`` is not a chat history (another kind of file, or a corrupt one).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = path
        if path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(Path(path).expanduser()) if path != ":memory:" else path,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable at checkpoints, never corrupt
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self.interrupted = self._db.execute(
                "UPDATE messages SET status='interrupted' WHERE status='streaming'").rowcount
            self._db.commit()
        except sqlite3.DatabaseError as e:
            raise UserError(f"{path} is not an agentkit chat history ({e}). Move it away, or start the UI with "
                            "another one: agentkit tui --history NEW.sqlite") from None

    def close(self) -> None:
        self._db.close()

    # --- conversations ------------------------------------------------------------------------------------
    def new_conversation(self, title: str, *, model: str = "", workflow: str = "",
                         options: dict[str, Any] | None = None) -> int:
        now = time.time()
        cur = self._db.execute(
            "INSERT INTO conversations(title, model, workflow, options, created, updated) VALUES (?,?,?,?,?,?)",
            (title, model, workflow, json.dumps(options or {}), now, now))
        self._db.commit()
        return int(cur.lastrowid or 0)

    _CONVERSATION = "SELECT id, title, model, workflow, options, created, updated FROM conversations"

    def conversations(self, limit: int = 200) -> list[Conversation]:
        """The most recently updated first."""
        rows = self._db.execute(f"{self._CONVERSATION} ORDER BY updated DESC, id DESC LIMIT ?", (limit,)).fetchall()
        return [_conversation(r) for r in rows]

    def conversation(self, conversation: int) -> Conversation | None:
        row = self._db.execute(f"{self._CONVERSATION} WHERE id=?", (conversation,)).fetchone()
        return _conversation(row) if row else None

    def delete_conversation(self, conversation: int) -> None:
        self._db.execute("DELETE FROM conversations WHERE id=?", (conversation,))
        self._db.commit()

    # --- messages -----------------------------------------------------------------------------------------
    def add_message(self, conversation: int, role: str, content: str, *, status: str = "done") -> int:
        now = time.time()
        cur = self._db.execute("INSERT INTO messages(conversation, role, content, status, created) VALUES (?,?,?,?,?)",
                               (conversation, role, content, status, now))
        self._db.execute("UPDATE conversations SET updated=? WHERE id=?", (now, conversation))
        self._db.commit()
        return int(cur.lastrowid or 0)

    def start_answer(self, conversation: int) -> AnswerWriter:
        """An assistant message, stored at once as ``streaming``, that the run writes into."""
        return AnswerWriter(self, self.add_message(conversation, "assistant", "", status="streaming"))

    def messages(self, conversation: int) -> list[Message]:
        rows = self._db.execute("SELECT id, conversation, role, content, status, error, usage, created FROM messages "
                                "WHERE conversation=? ORDER BY id", (conversation,)).fetchall()
        return [Message(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7]) for r in rows]

    def events(self, message: int) -> list[dict[str, Any]]:
        """The events an answer's run streamed, in order, each ``{"kind": ..., **fields}``."""
        rows = self._db.execute("SELECT kind, data FROM events WHERE message=? ORDER BY seq", (message,)).fetchall()
        return [{"kind": kind, **json.loads(data)} for kind, data in rows]

    def search(self, query: str, limit: int = 50) -> list[Hit]:
        """Messages matching ``query`` (FTS5 syntax; plain words match all of them), best first."""
        words = query.strip()
        if not words:
            return []
        sql = ("SELECT m.conversation, m.id, c.title, snippet(messages_fts, 0, '[', ']', '…', 12) FROM messages_fts "
               "JOIN messages m ON m.id = messages_fts.rowid JOIN conversations c ON c.id = m.conversation "
               "WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?")
        try:
            rows = self._db.execute(sql, (words, limit)).fetchall()
        except sqlite3.OperationalError:  # not valid FTS syntax: search the words as a phrase
            rows = self._db.execute(sql, ('"' + words.replace('"', '""') + '"', limit)).fetchall()
        return [Hit(*r) for r in rows]

    # --- export -------------------------------------------------------------------------------------------
    def export_markdown(self, conversation: int) -> str:
        chat = self.conversation(conversation)
        if chat is None:
            raise UserError(f"No conversation {conversation}.")
        lines = [f"# {chat.title}", "", f"model `{chat.model}` · workflow `{chat.workflow}`", ""]
        for m in self.messages(conversation):
            mark = "" if m.status == "done" else f" *({m.status}{': ' + m.error if m.error else ''})*"
            lines += [f"## {'You' if m.role == 'user' else 'Assistant'}{mark}", "", m.content, ""]
        return "\n".join(lines)

    def export_jsonl(self, conversation: int) -> str:
        """One line per message, with its events."""
        out = []
        for m in self.messages(conversation):
            out.append(json.dumps({"role": m.role, "content": m.content, "status": m.status, "error": m.error,
                                   "usage": m.usage, "created": m.created, "events": self.events(m.id)}))
        return "\n".join(out) + ("\n" if out else "")

    def integrity(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


def _conversation(row: tuple[Any, ...]) -> Conversation:
    return Conversation(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6])


class AnswerWriter:
    """Writes a streamed answer and its events into the store, committing at most every ``FLUSH_SECONDS``
    (each ``write``/``event`` checks the clock; ``flush`` forces it) and once more when it ends."""

    def __init__(self, store: ChatStore, message: int) -> None:
        self.store, self.message = store, message
        self.text = ""
        self._events: list[tuple[str, str]] = []
        self._seq = 0
        self._dirty = False
        self._flushed = time.monotonic()

    def write(self, piece: str) -> None:
        self.text += piece
        self._dirty = True
        self._maybe_flush()

    def replace(self, text: str) -> None:
        """Set the whole answer (a workflow's final answer differs from what it streamed)."""
        self.text, self._dirty = text, True
        self._maybe_flush()

    def event(self, kind: str, data: dict[str, Any]) -> None:
        self._events.append((kind, json.dumps(data, default=str)))
        self._dirty = True
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if time.monotonic() - self._flushed >= FLUSH_SECONDS:
            self.flush()

    def flush(self, *, status: str | None = None, error: str = "", usage: dict[str, Any] | None = None) -> None:
        db = self.store._db
        if self._dirty or status is not None:
            db.executemany("INSERT INTO events(message, seq, kind, data) VALUES (?,?,?,?)",
                           [(self.message, self._seq + i, k, d) for i, (k, d) in enumerate(self._events)])
            self._seq += len(self._events)
            self._events.clear()
            db.execute("UPDATE messages SET content=? WHERE id=?", (self.text, self.message))
            if status is not None:
                db.execute("UPDATE messages SET status=?, error=?, usage=? WHERE id=?",
                           (status, error, json.dumps(usage or {}), self.message))
            db.commit()
            self._dirty = False
        self._flushed = time.monotonic()

    def finish(self, status: str = "done", *, error: str = "", usage: dict[str, Any] | None = None) -> None:
        """End the answer: ``done``, ``cancelled`` (kept as far as it got) or ``failed`` (``error`` says why)."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self.flush(status=status, error=error, usage=usage)
