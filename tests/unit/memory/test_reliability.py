"""Concurrent writers and kill -9 mid-write leave a consistent memory; nothing committed is lost."""

import os
import signal
import subprocess
import sys
import time

import pytest

from agentkit.memory.embed import HashEmbedder
from agentkit.memory.experience import Memory

_WRITER = """
import sys
from agentkit.memory.embed import HashEmbedder
from agentkit.memory.experience import Memory
from agentkit.memory.records import Reflection, TrajectoryRecord
memory = Memory(sys.argv[1], embedder=HashEmbedder())
name, count = sys.argv[2], int(sys.argv[3])
for i in range(count):
    t = TrajectoryRecord(task=f"{name} task {i}", env="e", won=i % 2 == 0, steps=[{"action": "a", "observation": "o" * 500}])
    memory.add(t)
    memory.add(Reflection(trajectory_id=t.id, task=t.task, text=f"lesson {i}"))
    memory.search(f"{name} task {i}", k=1)
    print(i, flush=True)
memory.close()
"""


def _writer(path, name, count):
    return subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name, str(count)], stdout=subprocess.PIPE,
                            text=True)


@pytest.mark.slow
def test_concurrent_writer_processes_lose_and_corrupt_nothing(tmp_path):
    writers = [_writer(tmp_path, f"w{n}", 60) for n in range(4)]
    for w in writers:
        assert w.wait(timeout=120) == 0
    memory = Memory(tmp_path, embedder=HashEmbedder())
    assert memory.store.check() == "ok"
    assert memory.store.count("trajectory") == 240 and memory.store.count("reflection") == 240
    for n in range(4):
        for i in (0, 59):
            assert memory.search(f"w{n} task {i}", k=1)[0][0].task == f"w{n} task {i}"
    reflections = memory.store.list("reflection")
    assert {r.trajectory_id for r in reflections} == {t.id for t in memory.store.list("trajectory")}


@pytest.mark.slow
def test_a_writer_killed_mid_write_leaves_a_consistent_store_and_index(tmp_path):
    writer = _writer(tmp_path, "k", 100_000)
    done = -1
    while done < 40:  # let it commit some records, then kill it mid-stream
        done = int(writer.stdout.readline())
    time.sleep(0.05)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    memory = Memory(tmp_path, embedder=HashEmbedder())
    assert memory.store.check() == "ok"
    trajectories = memory.store.count("trajectory")
    assert trajectories >= 41  # every record it reported was committed
    assert memory.store.count("reflection") in (trajectories, trajectories - 1)  # at most the last pair torn
    index = memory._index("trajectory")
    assert len(index) == trajectories  # the never-saved index was rebuilt from the store
    assert memory.search("k task 40", k=1)[0][0].task == "k task 40"
