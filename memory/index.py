"""A FAISS vector index over record ids: exact while small, HNSW past a threshold, chosen automatically.

Rows are appended; FAISS's row number maps to a record id through ``ids``. A deleted or re-worded record's
row is marked dead and skipped at search time (HNSW graphs cannot remove nodes), and the index is rebuilt
without dead rows once they pass a quarter of it. Inner product on unit vectors is cosine similarity.

The index is a cache of the store: ``save``/``load`` keep it next to the database with the embedder's name and
the store change it has caught up to; the memory rebuilds or replays it when they disagree.

Example:
    >>> import numpy as np
    >>> index = VectorIndex(dim=4)
    >>> index.add([7, 8], np.eye(4, dtype="float32")[:2])
    >>> index.search(np.eye(4, dtype="float32")[1], k=1)
    [(8, 1.0)]
    >>> index.remove(8); index.search(np.eye(4, dtype="float32")[1], k=2)
    [(7, 0.0)]
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from agentkit.optional import require

__all__ = ["HNSW_THRESHOLD", "VectorIndex"]

HNSW_THRESHOLD = 20_000  # rows; exact search on 384-d vectors stays under ~2 ms below this on 2 cores
_HNSW_M, _HNSW_EF_CONSTRUCTION, _HNSW_EF_SEARCH = 32, 80, 96


def _faiss() -> Any:
    return require("faiss", what="The memory's vector index", needs="faiss", extra="agentkit[memory]")


def _gpus(faiss: Any) -> int:
    return faiss.get_num_gpus() if hasattr(faiss, "index_cpu_to_all_gpus") else 0


class VectorIndex:
    """Record ids → vectors, searched by inner product.

    Args:
        dim: vector size.
        hnsw_threshold: live rows past which the exact index is rebuilt as HNSW.
    """

    def __init__(self, dim: int, *, hnsw_threshold: int = HNSW_THRESHOLD) -> None:
        self.dim, self.hnsw_threshold = dim, hnsw_threshold
        self._lock = threading.RLock()
        self._reset(np.zeros((0, dim), dtype=np.float32), np.zeros(0, dtype=np.int64))

    def _reset(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        faiss = _faiss()
        if len(ids) > self.hnsw_threshold:
            index = faiss.IndexHNSWFlat(self.dim, _HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = _HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = _HNSW_EF_SEARCH
        else:
            index = faiss.IndexFlatIP(self.dim)
            if _gpus(faiss):  # the faiss-gpu build on a GPU machine: exact search there
                index = faiss.index_cpu_to_all_gpus(index)
        self._index = index
        self._ids = np.array(ids, dtype=np.int64)
        self._live = np.ones(len(ids), dtype=bool)
        self._row = {int(record_id): row for row, record_id in enumerate(self._ids)}
        if len(ids):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    @property
    def kind(self) -> str:
        """``flat`` (exact) or ``hnsw``."""
        return "hnsw" if "HNSW" in type(self._index).__name__ else "flat"

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, record_id: int) -> bool:
        return record_id in self._row

    def ids(self) -> set[int]:
        return set(self._row)

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        """Add (or replace) the vectors of these record ids."""
        ids = [int(i) for i in ids]
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        with self._lock:
            self.remove(*ids)
            start = self._index.ntotal
            self._index.add(vectors)
            self._ids = np.concatenate([self._ids, np.array(ids, dtype=np.int64)])
            self._live = np.concatenate([self._live, np.ones(len(ids), dtype=bool)])
            self._row.update({record_id: start + n for n, record_id in enumerate(ids)})
            if self.kind == "flat" and len(self._row) > self.hnsw_threshold:
                self.compact()

    def remove(self, *ids: int) -> None:
        """Forget these record ids (unknown ones are ignored)."""
        with self._lock:
            for record_id in ids:
                row = self._row.pop(int(record_id), None)
                if row is not None:
                    self._live[row] = False
            if len(self._live) - len(self._row) > max(64, len(self._live) // 4):
                self.compact()

    def compact(self) -> None:
        """Rebuild without dead rows, as HNSW or exact for the live size."""
        with self._lock:
            rows = np.flatnonzero(self._live)
            vectors = self._index.reconstruct_n(0, self._index.ntotal)[rows] if len(rows) else \
                np.zeros((0, self.dim), dtype=np.float32)
            self._reset(vectors, self._ids[rows])

    def search(self, vector: np.ndarray, k: int, *, accept: Callable[[int], bool] | None = None,
               ) -> list[tuple[int, float]]:
        """The ``k`` nearest record ids with their scores, best first; ``accept`` filters ids."""
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, self.dim)
        with self._lock:
            total = self._index.ntotal
            fetch = min(total, k + (total - len(self._row)))
            while fetch:
                scores, rows = self._index.search(query, fetch)
                hits = [(int(self._ids[r]), float(s)) for r, s in zip(rows[0], scores[0])
                        if r >= 0 and self._live[r]]
                if accept is not None:
                    hits = [(i, s) for i, s in hits if accept(i)]
                if len(hits) >= k or fetch >= total:
                    return hits[:k]
                fetch = min(total, fetch * 4)
            return []

    def save(self, path: str | Path, meta: dict[str, Any]) -> None:
        """Write the index to ``path`` (+ ``.npz`` rows, ``.json`` meta), each file replaced atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            faiss = _faiss()
            cpu = faiss.index_gpu_to_cpu(self._index) if self.kind == "flat" and _gpus(faiss) else self._index
            _atomic(path, lambda tmp: faiss.write_index(cpu, str(tmp)))
            _atomic(path.with_suffix(".npz"), lambda tmp: _savez(tmp, ids=self._ids, live=self._live))
            meta = {**meta, "dim": self.dim, "rows": int(self._index.ntotal), "live": len(self._row)}
            _atomic(path.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(meta)))

    @classmethod
    def load(cls, path: str | Path, *, hnsw_threshold: int = HNSW_THRESHOLD) -> tuple[VectorIndex, dict[str, Any]]:
        """An index saved with ``save`` and its meta. Raises ``ValueError`` (or OSError) when the files are
        missing, damaged or disagree with each other."""
        path = Path(path)
        meta = json.loads(path.with_suffix(".json").read_text())
        with np.load(path.with_suffix(".npz")) as rows:
            ids, live = rows["ids"], rows["live"]
        try:
            faiss_index = _faiss().read_index(str(path))
        except RuntimeError as e:
            raise ValueError(f"unreadable FAISS file: {e}") from None
        if not (faiss_index.ntotal == len(ids) == len(live) == meta["rows"]) or faiss_index.d != meta["dim"]:
            raise ValueError("index files disagree")
        index = cls(meta["dim"], hnsw_threshold=hnsw_threshold)
        index._index, index._ids, index._live = faiss_index, ids.astype(np.int64), live.astype(bool)
        index._row = {int(record_id): row for row, record_id in enumerate(index._ids) if index._live[row]}
        return index, meta


def _atomic(path: Path, write: Callable[[Path], Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _savez(path: Path, **arrays: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would append .npz to the temporary name
        np.savez(f, **arrays)
