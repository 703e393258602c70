"""The FAISS index: exact then HNSW, deletes, compaction, saving and damaged files."""

import numpy as np
import pytest

from agentkit.memory.index import VectorIndex


def _vectors(n, dim=32, seed=0):
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype("float32")
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_exact_search_finds_each_vector_itself_and_filters():
    index = VectorIndex(32)
    v = _vectors(50)
    index.add(range(100, 150), v)
    assert index.kind == "flat" and len(index) == 50
    assert index.search(v[7], 1)[0][0] == 107
    evens = index.search(v[7], 5, accept=lambda i: i % 2 == 0)
    assert len(evens) == 5 and all(i % 2 == 0 for i, _ in evens)


def test_past_the_threshold_the_index_becomes_hnsw_and_keeps_high_recall():
    index = VectorIndex(32, hnsw_threshold=500)
    v = _vectors(2000, seed=1)
    index.add(range(2000), v[:2000])
    assert index.kind == "hnsw" and len(index) == 2000
    exact = VectorIndex(32, hnsw_threshold=10**9)
    exact.add(range(2000), v)
    queries = _vectors(50, seed=2)
    recall = np.mean([len({i for i, _ in index.search(q, 10)} & {i for i, _ in exact.search(q, 10)}) / 10
                      for q in queries])
    assert recall >= 0.95


def test_removed_and_replaced_ids_are_not_returned_and_dead_rows_are_compacted():
    index = VectorIndex(32, hnsw_threshold=100)
    v = _vectors(300, seed=3)
    index.add(range(300), v)
    index.remove(5)
    assert 5 not in index and all(i != 5 for i, _ in index.search(v[5], 10))
    index.add([6], v[:1])  # id 6 now has vector 0
    assert {i for i, _ in index.search(v[0], 2)} == {0, 6}
    index.remove(*range(100, 300))
    assert len(index) == 99 and index.kind == "flat"  # compacted: the live rows fit an exact index again
    assert index.search(v[50], 1)[0][0] == 50


def test_save_and_load_round_trip_and_damage_is_reported(tmp_path):
    index = VectorIndex(32)
    v = _vectors(20, seed=4)
    index.add(range(20), v)
    index.remove(3)
    index.save(tmp_path / "t.faiss", {"embedder": "e", "seen": 9})
    loaded, meta = VectorIndex.load(tmp_path / "t.faiss")
    assert meta["seen"] == 9 and loaded.ids() == index.ids()
    assert loaded.search(v[4], 1) == index.search(v[4], 1)
    (tmp_path / "t.faiss").write_bytes(b"garbage")
    with pytest.raises(ValueError):
        VectorIndex.load(tmp_path / "t.faiss")
