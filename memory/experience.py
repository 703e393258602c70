"""The experience memory: a store of records (the truth) plus one vector index per record kind (a cache).

``Memory(path)`` opens (or creates) ``path/memory.sqlite`` and the FAISS indexes in ``path/index/``. On open,
and before each search, every index catches up with the store's change log, so records written by other
processes are found; an index that is missing, damaged, built by another embedder or out of step with the
store is repaired (re-embedding only what differs) or rebuilt. ``frozen=True`` opens it read-only, for
evaluations that must not learn.

Example:
    >>> from agentkit.memory.embed import HashEmbedder
    >>> from agentkit.memory.records import TrajectoryRecord
    >>> memory = Memory(None, embedder=HashEmbedder())
    >>> _ = memory.add(TrajectoryRecord(task="put a clean mug in the coffee machine", env="alfworld", won=True,
    ...                                 steps=[{"action": "go to sink 1", "observation": "You see a mug 1."}]))
    >>> _ = memory.add(TrajectoryRecord(task="slice an apple", env="alfworld", won=True))
    >>> [r.task for r, _ in memory.search("clean a mug", kind="trajectory", k=1)]
    ['put a clean mug in the coffee machine']
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentkit.errors import UserError
from agentkit.memory.embed import Embedder, load_embedder
from agentkit.memory.index import HNSW_THRESHOLD, VectorIndex
from agentkit.memory.records import KINDS, Concept, Insight, Record, Reflection, record_class
from agentkit.memory.retrieve import PromptContext
from agentkit.memory.store import open_store

__all__ = ["Memory"]

log = logging.getLogger(__name__)

_EXPORT_FORMAT = "agentkit-memory"


class Memory:
    """Experience memory over a durable store.

    Args:
        path: a folder (created if needed); ``None`` keeps everything in RAM.
        embedder: an ``Embedder`` or a spec for ``load_embedder`` (default all-MiniLM-L6-v2, offline).
        frozen: read-only: writes raise ``UserError``.
        hnsw_threshold: records of a kind past which its index switches from exact to HNSW.
    """

    def __init__(self, path: str | Path | None = None, *, embedder: Embedder | str | None = None,
                 frozen: bool = False, hnsw_threshold: int = HNSW_THRESHOLD) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None and self.path.exists() and not self.path.is_dir():
            raise UserError(f"{self.path} is a file; a memory is a folder. Pass a folder path (it is created).")
        if frozen and (self.path is None or not (self.path / "memory.sqlite").exists()):
            raise UserError(f"No memory at {self.path} to use read-only. Build one first with `agentkit learn`, "
                            "or drop --frozen.")
        self.store = open_store(self.path / "memory.sqlite" if self.path else None)
        self.embedder = embedder if embedder is not None and not isinstance(embedder, str) else load_embedder(embedder)
        self.frozen, self.hnsw_threshold = frozen, hnsw_threshold
        self._indexes: dict[str, VectorIndex] = {}
        self._seen: dict[str, int] = {}  # kind -> the last change its index has caught up with
        self._filter_cache: tuple[Any, set[int]] = (None, set())
        self._lock = threading.RLock()

    # --- the index cache ---------------------------------------------------------------------------------

    def _index_path(self, kind: str) -> Path | None:
        return self.path / "index" / f"{kind}.faiss" if self.path else None

    def _index(self, kind: str) -> VectorIndex:
        """The index of ``kind``, loaded or built on first use, caught up with the store."""
        with self._lock:  # the eval's workers search and add from several threads
            if kind not in self._indexes:
                self._open_index(kind)
            self._catch_up(kind)
            return self._indexes[kind]

    def _open_index(self, kind: str) -> None:
        path = self._index_path(kind)
        if path is not None and path.exists():
            try:
                index, meta = VectorIndex.load(path, hnsw_threshold=self.hnsw_threshold)
                if meta.get("embedder") != self.embedder.name:
                    raise ValueError(f"built with embedder {meta.get('embedder')!r}, not {self.embedder.name!r}")
                if int(meta.get("seen", 0)) > self.store.last_change():
                    raise ValueError("the index has seen changes the store does not have (store restored?)")
                self._indexes[kind], self._seen[kind] = index, int(meta.get("seen", 0))
                self._catch_up(kind)
                self._repair(kind)
                return
            except (ValueError, OSError, KeyError) as e:
                log.warning("Rebuilding the %s index of %s: %s", kind, self.path, e)
        self.rebuild(kind)

    def _catch_up(self, kind: str) -> None:
        """Replay the store's changes since this index last saw it (other processes' writes included)."""
        logged = self.store.changes(self._seen[kind])
        changes = [c for c in logged if c.kind == kind]
        if changes:
            index = self._indexes[kind]
            index.remove(*(c.id for c in changes if c.op == "delete"))
            fresh = self.store.get_many(dict.fromkeys(c.id for c in changes if c.op == "put"))  # those still there
            if fresh:
                index.add([r.id for r in fresh], self.embedder.embed([r.key for r in fresh]))
        if logged:  # not last_change(): a write committed since the read above must be replayed next time
            self._seen[kind] = logged[-1].seq

    def _repair(self, kind: str) -> None:
        """Make the index hold exactly the store's records of ``kind`` (after a crash between the two)."""
        index = self._indexes[kind]
        held = index.ids()
        if (len(held), sum(held)) == self.store.fingerprint(kind):
            return
        keys = dict(self.store.keys(kind))
        extra, missing = held - keys.keys(), [i for i in keys if i not in held]
        log.warning("The %s index of %s was out of step with the store (%d missing, %d extra); repaired.",
                    kind, self.path, len(missing), len(extra))
        index.remove(*extra)
        if missing:
            index.add(missing, self.embedder.embed([keys[i] for i in missing]))

    def rebuild(self, kind: str | None = None) -> None:
        """Re-embed every record (of ``kind``, or of all kinds) from the store."""
        with self._lock:
            for name in [kind] if kind else KINDS:
                self._seen[name] = self.store.last_change()  # before reading: later writes get replayed
                keys = self.store.keys(name)
                index = VectorIndex(self.embedder.dim, hnsw_threshold=self.hnsw_threshold)
                for start in range(0, len(keys), 4096):
                    chunk = keys[start:start + 4096]
                    index.add([i for i, _ in chunk], self.embedder.embed([k for _, k in chunk]))
                self._indexes[name] = index

    def save(self) -> None:
        """Write the indexes next to the store (they are rebuilt or replayed from it if this never happens)."""
        if self.path is None or self.frozen:
            return
        with self._lock:
            for kind, index in self._indexes.items():
                index.save(self._index_path(kind), {"embedder": self.embedder.name, "seen": self._seen[kind]})

    def close(self) -> None:
        self.save()
        self.store.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing -------------------------------------------------------------------------------------------

    def _writable(self) -> None:
        if self.frozen:
            raise UserError(f"The memory at {self.path} is open read-only (--frozen); nothing can be added.")

    def add(self, record: Record) -> int:
        """Store a record (or replace one with the same id) and index it; returns its id."""
        self._writable()
        record_id = self.store.put(record)
        if record.kind in self._indexes:
            self._index(record.kind)
        return record_id

    def add_many(self, records: Iterable[Record]) -> list[int]:
        """``add`` several records in one store transaction; indexes embed them in batches."""
        self._writable()
        ids = self.store.put_many(records)
        for kind in self._indexes:
            self._index(kind)
        return ids

    def delete(self, record_id: int) -> bool:
        self._writable()
        return self.store.delete(record_id)

    def get(self, record_id: int) -> Record | None:
        return self.store.get(record_id)

    def pin(self, record_id: int, pinned: bool = True) -> Insight:
        """Pin (or unpin) the insight ``record_id``: a pinned insight is recalled first and distillation never
        removes it. Stored at once, so it survives a restart.

        Raises:
            UserError: no insight has that id.
        """
        self._writable()
        record = self.store.get(record_id)
        if not isinstance(record, Insight):
            what = f"record {record_id} is a {record.kind}" if record is not None else f"there is no record {record_id}"
            raise UserError(f"Only insights can be pinned, and {what}; `agentkit memory search --kind insight` "
                            "lists them.")
        if record.pinned != pinned:
            record.pinned = pinned
            record.history.append({"op": "pin" if pinned else "unpin", "at": time.time()})
            self.store.put(record)
        return record

    # --- reading -------------------------------------------------------------------------------------------

    def search(self, text: str, *, kind: str = "trajectory", k: int = 5, env: str | None = None,
               won: bool | None = None) -> list[tuple[Record, float]]:
        """The ``k`` records of ``kind`` nearest to ``text`` (optionally of ``env`` / outcome), with scores."""
        record_class(kind)
        index = self._index(kind)
        if not len(index):
            return []
        vector = self.embedder.embed([text])[0]
        if env is None and won is None:
            hits = index.search(vector, k)
            records = self.store.get_many(i for i, _ in hits)
        else:
            hits = index.search(vector, k, accept=self._allowed(kind, env, won).__contains__)
            records = self.store.get_many(i for i, _ in hits)
        scores = dict(hits)
        return [(r, scores[r.id]) for r in records]

    def _allowed(self, kind: str, env: str | None, won: bool | None) -> set[int]:
        """The ids passing a search filter, cached until the store changes (recall filters every query)."""
        key = (kind, env, won, self.store.last_change())
        if self._filter_cache[0] != key:
            self._filter_cache = (key, self.store.ids(kind, env=env, won=won))
        return self._filter_cache[1]

    def recall(self, task: str, *, env: str | None = None, task_type: str | None = None, examples: int = 2,
               reflections: int = 2, insights: int = 5, concepts: int = 3) -> PromptContext:
        """What helps with ``task``: the most similar successful trajectories (those of the same task type
        first), reflections on similar failures, the strongest of the matching insights and the nearest
        concepts. Render it with ``PromptContext.render(budget)``."""
        found = PromptContext()

        def keep(hits: list[tuple[Record, float]]) -> list[Any]:
            found.scores.update((r.id, score) for r, score in hits)
            return [r for r, _ in hits]

        if examples:
            hits = self.search(task, kind="trajectory", k=examples * 4, env=env, won=True)
            hits.sort(key=lambda h: (h[0].task_type != task_type, -h[1]))
            found.examples = keep(hits[:examples])
        if reflections:
            found.reflections = keep(self.search(task, kind="reflection", k=reflections, env=env))
        if insights:
            hits = self.search(task, kind="insight", k=insights * 3)
            hits = [h for h in hits if h[0].env in ("", env or h[0].env)]
            near = {r.id for r, _ in hits}
            hits += [(r, 0.0) for r in self.store.list("insight") if r.pinned and r.id not in near
                     and r.env in ("", env or r.env)]  # pinned ones come whatever the task
            hits.sort(key=lambda h: (not h[0].pinned, -h[0].strength, -h[1]))
            found.insights = keep(hits[:insights])
        if concepts:
            found.concepts = keep(self.search(task, kind="concept", k=concepts, env=env))
        return found

    async def arecall(self, task: str, **options: Any) -> PromptContext:
        """``recall`` off the event loop (embedding and search take milliseconds of CPU)."""
        return await asyncio.to_thread(self.recall, task, **options)

    async def aadd(self, record: Record) -> int:
        return await asyncio.to_thread(self.add, record)

    def stats(self) -> dict[str, Any]:
        """Counts per kind, outcomes of trajectories, and the index types."""
        outcomes = self.store.outcomes()
        return {
            "path": str(self.path) if self.path else "(in memory)",
            "records": {kind: self.store.count(kind) for kind in KINDS},
            "successes": sum(won for won, _ in outcomes.values()),
            "failures": sum(lost for _, lost in outcomes.values()),
            "by_env": {env or "?": won + lost for env, (won, lost) in outcomes.items()},
            "embedder": self.embedder.name,
        }

    # --- moving memories -----------------------------------------------------------------------------------

    def export(self, file: str | Path) -> int:
        """Write every record as JSON lines (a header line first); returns how many."""
        count = 0
        with open(file, "w", encoding="utf-8") as out:
            out.write(json.dumps({"format": _EXPORT_FORMAT, "version": 1, "exported": time.time()}) + "\n")
            for kind in KINDS:
                for record in self.store.list(kind):
                    out.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
                    count += 1
        return count

    def import_(self, file: str | Path) -> int:
        """Add the records of an export in one transaction (ids are re-assigned; reflections and provenance
        follow their trajectories). Returns how many were added."""
        self._writable()
        lines = Path(file).read_text(encoding="utf-8").splitlines()
        try:
            header = json.loads(lines[0]) if lines else {}
            records = [json.loads(line) for line in lines[1:] if line.strip()]
        except ValueError as e:
            raise UserError(f"{file} is not an agentkit memory export ({e}).") from None
        if header.get("format") != _EXPORT_FORMAT:
            raise UserError(f"{file} is not an agentkit memory export (no header line); "
                            "write one with `agentkit memory export FILE`.")
        parsed = [record_class(data.get("kind", "?")).from_json(data) for data in records]  # all or nothing
        new_ids: dict[int, int] = {}

        def relinked():
            for record in parsed:
                old, record.id = record.id, None
                if isinstance(record, Reflection):
                    record.trajectory_id = new_ids.get(record.trajectory_id, record.trajectory_id)
                if isinstance(record, (Insight, Concept)):
                    record.sources = [new_ids.get(s, s) for s in record.sources]
                yield record
                new_ids[old] = record.id  # given by the store before the next record is drawn

        try:
            self.add_many(relinked())
        except sqlite3.IntegrityError:
            orphans = [r.trajectory_id for r in parsed if isinstance(r, Reflection) and r.trajectory_id not in
                       new_ids.values()]
            raise UserError(f"{file} has reflections of trajectories it does not contain (trajectory "
                            f"{orphans[0] if orphans else '?'}); nothing was imported. Export the whole memory "
                            "again.") from None
        return len(parsed)

    def prune(self, *, failures_older_than_days: float | None = None, keep_per_task: int | None = None) -> int:
        """Delete failed trajectories older than a number of days (with their reflections) and/or keep only the
        newest ``keep_per_task`` trajectories of each task and outcome. Returns how many were deleted."""
        self._writable()
        doomed: set[int] = set()
        trajectories = self.store.list("trajectory")
        if failures_older_than_days is not None:
            cutoff = time.time() - failures_older_than_days * 86400
            doomed |= {t.id for t in trajectories if not t.won and t.created < cutoff}
        if keep_per_task is not None:
            seen: dict[tuple[str, bool], int] = {}
            for t in sorted(trajectories, key=lambda t: -t.created):
                group = (t.task, t.won)
                seen[group] = seen.get(group, 0) + 1
                if seen[group] > keep_per_task:
                    doomed.add(t.id)
        for record_id in doomed:
            self.store.delete(record_id)
        return len(doomed)
