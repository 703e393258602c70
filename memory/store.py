"""The memory's source of truth: records in a store with one narrow interface, in SQLite or in RAM.

``SQLiteStore`` keeps every record in one SQLite file in WAL mode, so several processes (an eval's workers,
a ``learn`` run and a ``memory search``) can read and write it at once; each write is one transaction, so a
process killed mid-write leaves the file consistent. The schema carries a version (``PRAGMA user_version``)
and is migrated forward on open. Every insert, text change and delete also appends to a change log, which
the vector index (a cache) replays to catch up with writes it has not seen. ``InMemoryStore`` does the same
in RAM, for tests and throw-away memories; both pass one test suite.

Example:
    >>> from agentkit.memory.records import Insight
    >>> store = SQLiteStore(":memory:")
    >>> i = store.put(Insight(text="Open a closed receptacle before looking for objects in it."))
    >>> store.get(i).text, store.count("insight"), [c.op for c in store.changes(0)]
    ('Open a closed receptacle before looking for objects in it.', 1, ['put'])
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agentkit.errors import UserError
from agentkit.memory.records import Record, record_class

__all__ = ["Change", "InMemoryStore", "SQLiteStore", "Store", "open_store"]

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change log: record ``id`` (of ``kind``) was put (inserted or re-worded) or deleted."""

    seq: int
    id: int
    kind: str
    op: str  # "put" | "delete"


class Store(Protocol):
    """What the memory needs from a store. Ids are positive integers assigned by ``put``."""

    def put(self, record: Record) -> int:
        """Insert ``record`` (its ``id`` is None; the new id is set on it) or replace the record with its id."""

    def put_many(self, records: Iterable[Record]) -> list[int]:
        """``put`` each record, in one transaction where the store has them."""

    def get(self, record_id: int) -> Record | None: ...

    def get_many(self, ids: Iterable[int]) -> list[Record]:
        """The records with these ids, in that order, skipping ids that are gone."""

    def delete(self, record_id: int) -> bool:
        """Delete a record (a trajectory takes its reflections with it); False if it was not there."""

    def list(self, kind: str, *, env: str | None = None, task_type: str | None = None,
             won: bool | None = None, limit: int | None = None) -> list[Record]:
        """Records of ``kind``, oldest first, optionally filtered."""

    def count(self, kind: str | None = None) -> int: ...

    def ids(self, kind: str, *, env: str | None = None, won: bool | None = None) -> set[int]:
        """The ids of ``kind`` (optionally of ``env`` / outcome), without reading the records."""

    def outcomes(self) -> dict[str, tuple[int, int]]:
        """Trajectories per environment: ``env -> (successes, failures)``."""

    def fingerprint(self, kind: str) -> tuple[int, int]:
        """``(count, sum of ids)`` of ``kind``: what an index holding exactly these records matches."""

    def changes(self, after: int) -> list[Change]:
        """Change-log entries with ``seq > after``, in order."""

    def last_change(self) -> int: ...

    def close(self) -> None: ...


def _won(record: Record) -> int | None:
    return int(record.won) if record.kind == "trajectory" else None


def _parent(record: Record) -> int | None:
    return record.trajectory_id if record.kind == "reflection" else None


def _decode(data: str) -> Record:
    payload = json.loads(data)
    return record_class(payload["kind"]).from_json(payload)


_MIGRATIONS: dict[int, str] = {  # version -> SQL that brings the schema from version-1 to it
    1: """
    CREATE TABLE records (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        env TEXT NOT NULL DEFAULT '',
        task_type TEXT NOT NULL DEFAULT '',
        won INTEGER,
        parent INTEGER REFERENCES records(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        data TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX records_by_kind ON records(kind, env, task_type, won);
    CREATE INDEX records_by_parent ON records(parent);
    CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, id INTEGER NOT NULL, kind TEXT NOT NULL,
                          op TEXT NOT NULL);
    CREATE TRIGGER records_put AFTER INSERT ON records
        BEGIN INSERT INTO changes (id, kind, op) VALUES (new.id, new.kind, 'put'); END;
    CREATE TRIGGER records_reworded AFTER UPDATE OF key ON records WHEN old.key IS NOT new.key
        BEGIN INSERT INTO changes (id, kind, op) VALUES (new.id, new.kind, 'put'); END;
    CREATE TRIGGER records_deleted AFTER DELETE ON records
        BEGIN INSERT INTO changes (id, kind, op) VALUES (old.id, old.kind, 'delete'); END;
    """,
}


class SQLiteStore:
    """Records in a SQLite file (WAL mode), safe for concurrent threads and processes.

    Args:
        path: the database file (created with its folder), or ``":memory:"``.
        timeout: seconds a writer waits for another process's transaction before giving up.
    """

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False, isolation_level=None)
            _enable_wal(self._db, timeout)
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process kill
            self._lock = threading.Lock()
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise UserError(f"{self.path} is not a usable agentkit memory ({e}). If it is damaged, restore it from "
                            "a backup or an `agentkit memory export` file; otherwise choose another path.") from None

    def _migrate(self) -> None:
        with self._write():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise UserError(f"{self.path} has memory schema version {version}, newer than this agentkit "
                                f"understands ({SCHEMA_VERSION}). Upgrade agentkit to open it.")
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _statements(_MIGRATIONS[target]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {target}")

    def _write(self):
        return _Transaction(self._db, self._lock)

    def put(self, record: Record) -> int:
        return self.put_many([record])[0]

    def put_many(self, records: Iterable[Record]) -> list[int]:
        """``put`` several records in one transaction (all or none). ``records`` is consumed lazily, so a
        generator may use the ids given to the records before (``import_`` relinks reflections that way)."""
        added: list[Record] = []
        try:
            with self._write():
                ids = []
                for record in records:
                    if record.id is None:
                        added.append(record)
                    ids.append(self._put(record))
                return ids
        except BaseException:
            for record in added:  # rolled back: they were never stored
                record.id = None
            raise

    def _put(self, record: Record) -> int:
        # runs inside the caller's transaction
        if record.id is None:
            cursor = self._db.execute(
                "INSERT INTO records (kind, env, task_type, won, parent, key, data, created) VALUES "
                "(?, ?, ?, ?, ?, ?, '', ?)",
                (record.kind, getattr(record, "env", ""), getattr(record, "task_type", ""), _won(record),
                 _parent(record), record.key, record.created))
            record.id = cursor.lastrowid
        self._db.execute(
            "UPDATE records SET env = ?, task_type = ?, won = ?, key = ?, data = ? WHERE id = ? AND kind = ?",
            (getattr(record, "env", ""), getattr(record, "task_type", ""), _won(record), record.key,
             json.dumps(record.to_json(), ensure_ascii=False), record.id, record.kind))
        if self._db.execute("SELECT changes()").fetchone()[0] == 0:
            raise UserError(f"No {record.kind} record {record.id} to replace; put it without an id to add it.")
        return record.id

    def get(self, record_id: int) -> Record | None:
        row = self._read("SELECT data FROM records WHERE id = ?", (record_id,))
        return _decode(row[0][0]) if row else None

    def get_many(self, ids: Iterable[int]) -> list[Record]:
        ids = list(ids)
        found: dict[int, Record] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for record_id, data in self._read(f"SELECT id, data FROM records WHERE id IN ({marks})", chunk):
                found[record_id] = _decode(data)
        return [found[i] for i in ids if i in found]

    def delete(self, record_id: int) -> bool:
        with self._write():
            return self._db.execute("DELETE FROM records WHERE id = ?", (record_id,)).rowcount > 0

    def list(self, kind: str, *, env: str | None = None, task_type: str | None = None,
             won: bool | None = None, limit: int | None = None) -> list[Record]:
        where, args = _filters(kind, env=env, task_type=task_type, won=won)
        sql = f"SELECT data FROM records WHERE {where} ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_decode(row[0]) for row in self._read(sql, args)]

    def keys(self, kind: str) -> list[tuple[int, str]]:
        """``(id, key)`` of every record of ``kind``: what the vector index embeds."""
        return self._read("SELECT id, key FROM records WHERE kind = ? ORDER BY id", (kind,))

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return self._read("SELECT count(*) FROM records", ())[0][0]
        return self._read("SELECT count(*) FROM records WHERE kind = ?", (kind,))[0][0]

    def ids(self, kind: str, *, env: str | None = None, won: bool | None = None) -> set[int]:
        where, args = _filters(kind, env=env, won=won)
        return {row[0] for row in self._read(f"SELECT id FROM records WHERE {where}", args)}

    def outcomes(self) -> dict[str, tuple[int, int]]:
        rows = self._read("SELECT env, sum(won), count(*) - sum(won) FROM records WHERE kind = 'trajectory' "
                          "GROUP BY env ORDER BY env", ())
        return {env: (int(won), int(lost)) for env, won, lost in rows}

    def fingerprint(self, kind: str) -> tuple[int, int]:
        return tuple(self._read("SELECT count(*), coalesce(sum(id), 0) FROM records WHERE kind = ?", (kind,))[0])

    def changes(self, after: int) -> list[Change]:
        rows = self._read("SELECT seq, id, kind, op FROM changes WHERE seq > ? ORDER BY seq", (after,))
        return [Change(*row) for row in rows]

    def last_change(self) -> int:
        return self._read("SELECT coalesce(max(seq), 0) FROM changes", ())[0][0]

    def check(self) -> str:
        """SQLite's integrity check: ``"ok"`` or the first problem."""
        return self._read("PRAGMA integrity_check", ())[0][0]

    def _read(self, sql: str, args: Iterable[Any]) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _filters(kind: str, **values: Any) -> tuple[str, list[Any]]:
    where, args = ["kind = ?"], [kind]
    for column, value in values.items():
        if value is not None:
            where.append(f"{column} = ?")
            args.append(int(value) if column == "won" else value)
    return " AND ".join(where), args


def _enable_wal(db: sqlite3.Connection, timeout: float) -> None:
    """Switch to WAL, retrying while another process switches the same new file: the switch needs an
    exclusive lock, two processes asking at once deadlock, and SQLite answers one 'database is locked' at
    once instead of waiting out the busy timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error) under the connection's thread lock."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db, self._lock = db, lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, kind, error, traceback) -> None:
        try:
            self._db.execute("ROLLBACK" if kind else "COMMIT")
        finally:
            self._lock.release()


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (``execute`` runs one; ``executescript`` would commit)."""
    statements, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        joined = "\n".join(current)
        if sqlite3.complete_statement(joined):
            statements.append(joined.strip())
            current = []
    return statements


class InMemoryStore:
    """The store interface over dicts in RAM: nothing survives the process. For tests and throw-away runs."""

    def __init__(self) -> None:
        self._records: dict[int, dict[str, Any]] = {}
        self._log: list[Change] = []
        self._next = 1
        self._lock = threading.Lock()

    def put(self, record: Record) -> int:
        with self._lock:
            if record.id is None:
                record.id, self._next = self._next, self._next + 1
                old_key = None
            elif self._records.get(record.id, {}).get("kind") != record.kind:
                raise UserError(f"No {record.kind} record {record.id} to replace; put it without an id to add it.")
            else:
                old_key = _decode(json.dumps(self._records[record.id])).key
            self._records[record.id] = json.loads(json.dumps(record.to_json()))
            if old_key != record.key:
                self._log.append(Change(len(self._log) + 1, record.id, record.kind, "put"))
            return record.id

    def put_many(self, records: Iterable[Record]) -> list[int]:
        return [self.put(record) for record in records]

    def get(self, record_id: int) -> Record | None:
        data = self._records.get(record_id)
        return _decode(json.dumps(data)) if data is not None else None

    def get_many(self, ids: Iterable[int]) -> list[Record]:
        return [r for r in map(self.get, ids) if r is not None]

    def delete(self, record_id: int) -> bool:
        with self._lock:
            data = self._records.pop(record_id, None)
            if data is None:
                return False
            self._log.append(Change(len(self._log) + 1, record_id, data["kind"], "delete"))
            children = [i for i, d in self._records.items() if d.get("trajectory_id") == record_id
                        and d["kind"] == "reflection"]
        for child in children:
            self.delete(child)
        return True

    def list(self, kind: str, *, env: str | None = None, task_type: str | None = None,
             won: bool | None = None, limit: int | None = None) -> list[Record]:
        out = []
        for record_id in sorted(self._records):
            data = self._records[record_id]
            if data["kind"] != kind or (env is not None and data.get("env") != env) or (
                    task_type is not None and data.get("task_type") != task_type) or (
                    won is not None and data.get("won") != won):
                continue
            out.append(_decode(json.dumps(data)))
        return out[:limit] if limit is not None else out

    def keys(self, kind: str) -> list[tuple[int, str]]:
        return [(r.id, r.key) for r in self.list(kind)]

    def count(self, kind: str | None = None) -> int:
        return sum(1 for d in self._records.values() if kind is None or d["kind"] == kind)

    def ids(self, kind: str, *, env: str | None = None, won: bool | None = None) -> set[int]:
        return {r.id for r in self.list(kind, env=env, won=won)}

    def outcomes(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for t in self.list("trajectory"):
            won, lost = out.get(t.env, (0, 0))
            out[t.env] = (won + t.won, lost + (not t.won))
        return dict(sorted(out.items()))

    def fingerprint(self, kind: str) -> tuple[int, int]:
        ids = [i for i, d in self._records.items() if d["kind"] == kind]
        return len(ids), sum(ids)

    def changes(self, after: int) -> list[Change]:
        return self._log[after:]

    def last_change(self) -> int:
        return len(self._log)

    def check(self) -> str:
        return "ok"

    def close(self) -> None:
        pass


def open_store(path: str | Path | None) -> SQLiteStore | InMemoryStore:
    """A SQLite store at ``path``; ``None`` gives an in-memory one."""
    return InMemoryStore() if path is None else SQLiteStore(path)

