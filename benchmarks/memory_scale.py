"""Memory at scale: insert throughput, retrieval latency p50/p99 and recall@10 at 10k, 100k and 1M records.

    python benchmarks/memory_scale.py [--sizes 10000,100000,1000000] [--pool 20000] [--embed-all]

Records are trajectory-like strings built from the ALFWorld games in ``$ALFWORLD_DATA`` (task descriptions,
step descriptions, receptacles with numbers, outcomes): ``Task: ... > go to countertop 3 > ...``.

* Embedding (all-MiniLM-L6-v2) is timed on its own, on ``--pool`` strings. Embedding a million strings takes
  about 35 minutes on 2 cores, so by default each record past the pool gets the unit-normalised sum of two
  pool embeddings (so vectors keep the geometry of real text embeddings); ``--embed-all`` embeds every one.
* Store: records per second into ``SQLiteStore`` (WAL), 1000 per transaction.
* Index: vectors per second into ``VectorIndex`` (exact up to 20k records, HNSW past it, as the memory
  chooses), then ``--queries`` held-out query strings (embedded for real): latency of one search (k=10)
  p50/p99, and recall@10 against exact search over the same vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from agentkit.memory.embed import SentenceEmbedder
from agentkit.memory.index import VectorIndex
from agentkit.memory.records import TrajectoryRecord
from agentkit.memory.store import SQLiteStore


def _games(root: Path) -> list[dict]:
    games = []
    for path in sorted(root.glob("json_2.1.1/*/*/*/traj_data.json")):
        data = json.loads(path.read_text())
        for ann in data["turk_annotations"]["anns"]:
            games.append({"type": data["task_type"], "task": ann["task_desc"].strip().rstrip("."),
                          "steps": [s.strip().rstrip(".") for s in ann["high_descs"]]})
    if not games:
        raise SystemExit(f"No ALFWorld games under {root}; set ALFWORLD_DATA (e.g. ../shared/data/alfworld).")
    return games


_PLACES = ["countertop", "cabinet", "drawer", "shelf", "fridge", "microwave", "sinkbasin", "diningtable", "sofa",
           "bed", "desk", "dresser", "garbagecan", "stoveburner", "toilet", "bathtubbasin", "sidetable"]


def trajectory_texts(root: Path, count: int, seed: int = 0) -> list[str]:
    """``count`` distinct trajectory-like strings drawn from the games' annotations."""
    rng, games = random.Random(seed), _games(root)
    texts = []
    for i in range(count):
        game = games[i % len(games)]
        steps = list(game["steps"])
        for _ in range(rng.randint(1, 3)):  # the detours an agent takes before the annotated path
            steps.insert(rng.randrange(len(steps) + 1), f"go to {rng.choice(_PLACES)} {rng.randint(1, 12)}")
        outcome = "won" if rng.random() < 0.4 else f"lost after {rng.randint(8, 50)} steps"
        texts.append(f"Task: {game['task']} ({game['type']}). " + " > ".join(steps) + f". Outcome: {outcome}.")
    return texts


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def vectors_for(pool: np.ndarray, count: int, seed: int = 1) -> np.ndarray:
    """The pool's vectors, then unit-normalised sums of two random pool vectors for the rest."""
    if count <= len(pool):
        return pool[:count]
    rng = np.random.default_rng(seed)
    extra = count - len(pool)
    mixed = pool[rng.integers(0, len(pool), extra)] + pool[rng.integers(0, len(pool), extra)]
    return np.concatenate([pool, _unit(mixed)])


def measure(size: int, texts: list[str], vectors: np.ndarray, queries: np.ndarray) -> dict[str, float]:
    import faiss

    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "m.sqlite")
        started = time.perf_counter()
        for start in range(0, size, 1000):
            store.put_many(TrajectoryRecord(task=texts[i % len(texts)], env="alfworld", won=i % 3 == 0)
                           for i in range(start, min(size, start + 1000)))
        store_rate = size / (time.perf_counter() - started)
        store.close()
    index = VectorIndex(vectors.shape[1])
    started = time.perf_counter()
    for start in range(0, size, 10_000):
        end = min(size, start + 10_000)
        index.add(range(start, end), vectors[start:end])
    index_rate = size / (time.perf_counter() - started)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors[:size])
    _, truth = exact.search(queries, 10)
    latencies, recalls = [], []
    for query, expected in zip(queries, truth):
        started = time.perf_counter()
        hits = index.search(query, 10)
        latencies.append((time.perf_counter() - started) * 1000)
        recalls.append(len({i for i, _ in hits} & set(expected.tolist())) / 10)
    return {"size": size, "index": index.kind, "store_rate": store_rate, "index_rate": index_rate,
            "p50": float(np.percentile(latencies, 50)), "p99": float(np.percentile(latencies, 99)),
            "recall": float(np.mean(recalls))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--pool", type=int, default=20_000, help="strings embedded for real (default 20000)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--embed-all", action="store_true", help="embed every record (slow on CPU)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    root = Path(os.environ.get("ALFWORLD_DATA", Path(__file__).resolve().parents[2] / "shared/data/alfworld"))
    texts = trajectory_texts(root, max(sizes))
    queries = trajectory_texts(root, args.queries, seed=99)
    embedder = SentenceEmbedder()
    embedder.embed(["warm up"])
    pool_size = max(sizes) if args.embed_all else min(args.pool, max(sizes))
    started = time.perf_counter()
    pool = embedder.embed(texts[:pool_size])
    seconds = time.perf_counter() - started
    query_vectors = embedder.embed(queries)
    started = time.perf_counter()
    for q in queries[:50]:
        embedder.embed([q])
    one = (time.perf_counter() - started) / 50 * 1000
    print(f"embedding ({embedder.name}, CPU): {pool_size / seconds:.0f} strings/s in batches; "
          f"one query {one:.1f} ms; {len(texts[0])}-character records, e.g.\n  {texts[0][:150]}...")
    if not args.embed_all and max(sizes) > pool_size:
        print(f"records past the first {pool_size} get sums of two of its embeddings (--embed-all: embed all)")
    vectors = vectors_for(pool, max(sizes))
    print(f"\n{'records':>9} {'index':>6} {'store ins/s':>12} {'index add/s':>12} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'recall@10':>9}")
    for size in sizes:
        row = measure(size, texts, vectors, query_vectors)
        print(f"{row['size']:>9,} {row['index']:>6} {row['store_rate']:>12,.0f} {row['index_rate']:>12,.0f} "
              f"{row['p50']:>8.2f} {row['p99']:>8.2f} {row['recall']:>9.3f}", flush=True)


if __name__ == "__main__":
    main()
