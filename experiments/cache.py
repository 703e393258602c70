"""The episode cache: every episode a search plays, kept under what decides its outcome, so nothing is paid twice.

A row's key is (design id, model fingerprint, target, task id, sampling seed, memory snapshot); its value is
the ``EpisodeRecord``. Rows are committed one by one as episodes finish (SQLite, WAL), so a search killed
with ``kill -9`` keeps every finished episode, and a rerun of a design already scored costs nothing. Rows
also name the search run that paid for them, which is how a resumed search knows what it has spent.

``model_fingerprint`` identifies a model by its weights where there is a file (a bundled model's published
SHA-256, else the GGUF's own), by its spec otherwise (a served model is its URL and name).

Example:
    >>> import tempfile
    >>> from agentkit.experiments.records import EpisodeRecord
    >>> cache = EpisodeCache(tempfile.mkdtemp() + "/cache.sqlite")
    >>> key = Key("d" * 12, "m" * 12, "gsm8k", seed=0)
    >>> cache.put(key, EpisodeRecord(task_id="train-0600", won=True, calls=1), run="search-a")
    >>> sorted(cache.lookup(key, ["train-0600", "train-0601"])), cache.spent("search-a")["episodes"]
    (['train-0600'], 1)
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from agentkit.errors import UserError
from agentkit.experiments.records import EpisodeRecord

__all__ = ["EpisodeCache", "Key", "model_fingerprint"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS episodes (
    design TEXT NOT NULL, model TEXT NOT NULL, target TEXT NOT NULL, task_id TEXT NOT NULL, seed TEXT NOT NULL,
    memory TEXT NOT NULL, run TEXT NOT NULL, calls INTEGER NOT NULL, tokens INTEGER NOT NULL,
    seconds REAL NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (design, model, target, task_id, seed, memory)
)"""


@dataclass(frozen=True, slots=True)
class Key:
    """What decides an episode's outcome, but the task id."""

    design: str
    model: str
    target: str
    seed: int | None = 0
    memory: str = "none"


class EpisodeCache:
    """Episode records by ``Key`` and task id, in one SQLite file (safe to share between searches)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
        except sqlite3.DatabaseError as e:
            raise UserError(f"The episode cache {self.path} cannot be opened ({e}); move it away to start a new "
                            "one (the searches that used it will replay their episodes).") from None
        self._lock = threading.Lock()

    def _where(self, key: Key) -> tuple[str, ...]:
        return key.design, key.model, key.target, str(key.seed), key.memory

    def lookup(self, key: Key, task_ids: Iterable[str]) -> dict[str, EpisodeRecord]:
        """The cached records of ``task_ids`` under ``key`` (those not cached are left out)."""
        wanted = list(dict.fromkeys(task_ids))
        found: dict[str, EpisodeRecord] = {}
        with self._lock:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                rows = self._db.execute(
                    "SELECT task_id, record FROM episodes WHERE design=? AND model=? AND target=? AND seed=? "
                    f"AND memory=? AND task_id IN ({','.join('?' * len(chunk))})", (*self._where(key), *chunk))
                found.update((task_id, EpisodeRecord.from_json(json.loads(text))) for task_id, text in rows)
        return {t: found[t] for t in wanted if t in found}

    def put(self, key: Key, record: EpisodeRecord, *, run: str) -> None:
        """Keep ``record`` (a task id already cached under ``key`` keeps its first record)."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO episodes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key.design, key.model, key.target, record.task_id, str(key.seed), key.memory, run, record.calls,
                 record.tokens.get("total", 0), record.seconds or 0.0, json.dumps(record.to_json())))

    def spent(self, run: str) -> dict[str, float]:
        """What search ``run`` has paid for: episodes, calls, tokens and episode seconds."""
        with self._lock:
            row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(calls), 0), COALESCE(SUM(tokens), 0), "
                                   "COALESCE(SUM(seconds), 0) FROM episodes WHERE run=?", (run,)).fetchone()
        return {"episodes": row[0], "calls": row[1], "tokens": row[2], "seconds": row[3]}

    def close(self) -> None:
        self._db.close()


def model_fingerprint(spec: str | None) -> str:
    """12 hex digits naming the model's weights (or, for a served model, its spec)."""
    from agentkit.models.bundled import BUNDLED
    from agentkit.models.registry import default_spec, parse_spec

    parsed = parse_spec(spec or default_spec())
    if parsed.backend == "llamacpp":
        if parsed.target in BUNDLED:
            return BUNDLED[parsed.target].sha256[:12]
        path = Path(parsed.target).expanduser()
        if path.is_file():
            stat = path.stat()
            return _file_digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    return hashlib.sha256(f"{parsed.backend}:{parsed.target}".encode()).hexdigest()[:12]


@functools.cache
def _file_digest(path: str, size: int, mtime: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]
