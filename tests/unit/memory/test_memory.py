"""The memory facade: indexes that follow the store, repair, recall, export/import, read-only use."""

import json

import pytest

from agentkit.errors import UserError
from agentkit.memory.embed import HashEmbedder
from agentkit.memory.experience import Memory
from agentkit.memory.records import Concept, Insight, Reflection, TrajectoryRecord

TASKS = ["put a clean mug in the coffee machine", "heat an egg and put it in the fridge",
         "slice an apple with a knife", "find two pillows and put them on the sofa",
         "examine the book under the desk lamp", "cool a tomato and put it on the table"]


def _memory(path=None, **kw):
    return Memory(path, embedder=HashEmbedder(), **kw)


def _fill(memory):
    ids = []
    for n, task in enumerate(TASKS):
        ids.append(memory.add(TrajectoryRecord(task=task, env="alfworld", task_type=f"type{n}", won=n % 2 == 0,
                                               steps=[{"action": "look", "observation": f"room {n}"}])))
    return ids


def test_search_finds_the_labelled_neighbour_of_each_paraphrase():
    memory = _memory()
    _fill(memory)
    queries = {"clean the mug, then put it in the coffee machine": TASKS[0], "slice the apple": TASKS[2],
               "put two pillows on the sofa": TASKS[3], "cool the tomato": TASKS[5]}
    for query, expected in queries.items():
        assert memory.search(query, k=1)[0][0].task == expected
    assert [r.task for r, _ in memory.search("heat an egg", won=True, k=6)].count(TASKS[1]) == 0


def test_an_index_follows_writes_made_through_another_handle(tmp_path):
    writer, reader = _memory(tmp_path), _memory(tmp_path)
    assert reader.search("slice an apple") == []
    ids = _fill(writer)
    assert reader.search("slice an apple", k=1)[0][0].id == ids[2]
    writer.delete(ids[2])
    assert all(r.id != ids[2] for r, _ in reader.search("slice an apple", k=6))


def test_a_saved_index_is_reused_and_a_stale_one_is_repaired_on_open(tmp_path):
    memory = _memory(tmp_path)
    ids = _fill(memory)
    memory.search("anything")
    memory.close()
    assert (tmp_path / "index" / "trajectory.faiss").exists()
    # another writer changes the store and its change log is lost, as after a crash between the two
    other = _memory(tmp_path)
    other.store.delete(ids[0])
    other.store._db.execute("DELETE FROM changes")
    other.store.put(TrajectoryRecord(task="water the plant", env="alfworld", won=True))
    other.store._db.execute("DELETE FROM changes")
    other.store.close()
    again = _memory(tmp_path)
    found = [r.task for r, _ in again.search("water the plant", k=10)]
    assert found[0] == "water the plant" and TASKS[0] not in found and len(found) == 6


def test_an_index_built_by_another_embedder_or_damaged_is_rebuilt(tmp_path):
    memory = _memory(tmp_path)
    _fill(memory)
    memory.search("x")
    memory.close()
    wider = Memory(tmp_path, embedder=HashEmbedder(64))
    assert wider.search("slice an apple", k=1)[0][0].task == TASKS[2]
    wider.close()
    (tmp_path / "index" / "trajectory.faiss").write_bytes(b"\0" * 10)
    assert _memory(tmp_path).search("slice an apple", k=1)[0][0].task == TASKS[2]


def test_recall_prefers_same_type_successes_strong_insights_and_renders_within_budget():
    memory = _memory()
    ids = _fill(memory)
    memory.add(TrajectoryRecord(task="put a clean cup in the coffee machine", env="alfworld", task_type="type0",
                                won=True))
    memory.add(Reflection(trajectory_id=ids[1], task=TASKS[1], text="Open the microwave before heating.",
                          env="alfworld"))
    memory.add(Insight(text="Clean things in the sink basin.", strength=1))
    memory.add(Insight(text="Clean mugs are found near the coffee machine.", strength=5))
    memory.add(Concept(name="mug", text="usually in cabinets or on countertops", env="alfworld"))
    found = memory.recall(TASKS[0], env="alfworld", task_type="type0", examples=2, insights=1)
    assert [t.task_type for t in found.examples] == ["type0", "type0"] and all(t.won for t in found.examples)
    assert [i.strength for i in found.insights] == [5]
    assert found.reflections and found.concepts
    text = found.render(budget=120)
    assert "Clean mugs are found" in text and len(text) // 3 + 4 <= 120 + 40
    assert found.render(budget=5) == ""


def test_export_then_import_round_trips_every_record_and_link(tmp_path):
    memory = _memory()
    ids = _fill(memory)
    memory.add(Reflection(trajectory_id=ids[1], task=TASKS[1], text="Lesson."))
    memory.add(Insight(text="Rule.", sources=[ids[0], ids[1]], history=[{"op": "add"}]))
    memory.add(Concept(name="egg", text="in the fridge", sources=[ids[1]]))
    assert memory.export(tmp_path / "m.jsonl") == 9
    copy = _memory(tmp_path / "copy")
    assert copy.import_(tmp_path / "m.jsonl") == 9
    copy.export(tmp_path / "again.jsonl")
    strip = lambda f: [{k: v for k, v in json.loads(line).items() if k not in ("id", "exported")}
                       for line in (tmp_path / f).read_text().splitlines()[1:]]
    assert strip("m.jsonl") == [{**r, **({"trajectory_id": r["trajectory_id"]} if "trajectory_id" in r else {})}
                                for r in strip("again.jsonl")]
    reflection = copy.store.list("reflection")[0]
    assert copy.get(reflection.trajectory_id).task == TASKS[1]
    assert [copy.get(i).task for i in copy.store.list("insight")[0].sources] == TASKS[:2]
    (tmp_path / "bad.jsonl").write_text('{"kind": "trajectory"}\n')
    with pytest.raises(UserError, match="not an agentkit memory export"):
        copy.import_(tmp_path / "bad.jsonl")


def test_a_frozen_memory_reads_but_refuses_writes(tmp_path):
    with pytest.raises(UserError, match="agentkit learn"):
        _memory(tmp_path / "none", frozen=True)
    memory = _memory(tmp_path)
    _fill(memory)
    memory.close()
    frozen = _memory(tmp_path, frozen=True)
    assert frozen.search("slice an apple", k=1)[0][0].task == TASKS[2]
    with pytest.raises(UserError, match="read-only"):
        frozen.add(Insight(text="x"))


def test_prune_drops_old_failures_and_extra_copies():
    memory = _memory()
    _fill(memory)
    for _ in range(3):
        memory.add(TrajectoryRecord(task=TASKS[0], env="alfworld", won=True))
    assert memory.prune(keep_per_task=2) == 2
    assert memory.prune(failures_older_than_days=0) == 3
    assert memory.stats()["failures"] == 0


def test_add_many_indexes_every_record():
    memory = _memory()
    memory.search("warm the index up")
    ids = memory.add_many(TrajectoryRecord(task=t, env="alfworld", won=True) for t in TASKS)
    assert [memory.search(t, k=1)[0][0].id for t in TASKS] == ids


def test_trajectories_of_one_task_are_told_apart_by_where_they_started():
    memory = _memory()
    for room in ("kitchen with a stove and a fridge", "bathroom with a bathtub and a sink", "garden with a patio"):
        memory.add(TrajectoryRecord(task="find the coin", opening=f"You are in the {room}.", won=True))
    from agentkit.memory.records import situation_key

    found = memory.search(situation_key("find the coin", "You are in the bathroom. You see a sink."), k=1)
    assert found[0][0].opening == "You are in the bathroom with a bathtub and a sink."


def test_threads_adding_and_searching_one_memory_keep_it_consistent(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    memory = _memory(tmp_path)

    def work(n):
        for i in range(25):
            memory.add(TrajectoryRecord(task=f"worker {n} task {i}", env="alfworld", won=i % 2 == 0))
            memory.search(f"worker {n} task {i}", k=3, won=True)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    index = memory._index("trajectory")
    assert len(index) == memory.store.count("trajectory") == 100
    assert index.ids() == memory.store.ids("trajectory")


def test_an_import_that_fails_midway_adds_nothing(tmp_path):
    memory = _memory()
    _fill(memory)
    memory.export(tmp_path / "m.jsonl")
    orphan = {"kind": "reflection", "id": 50, "trajectory_id": 999, "task": "x", "text": "lesson"}
    with open(tmp_path / "m.jsonl", "a") as f:  # parses, but fails when the store links it
        f.write(json.dumps(orphan) + "\n")
    copy = _memory(tmp_path / "copy")
    with pytest.raises(UserError, match="trajectory 999"):
        copy.import_(tmp_path / "m.jsonl")
    assert copy.store.count() == 0


def test_a_pinned_insight_is_recalled_first_survives_a_restart_and_distillation_never_removes_it(tmp_path):
    from agentkit.memory.distill import Operation, apply_operations

    memory = _memory(tmp_path)
    strong = memory.add(Insight(text="Look inside every drawer before opening the fridge.", strength=9))
    weak = memory.add(Insight(text="Greet the user before anything else.", strength=1))
    assert [r.id for r in memory.recall("open the fridge", insights=1).insights] == [strong]
    assert memory.pin(weak).pinned
    memory.close()
    again = _memory(tmp_path)  # a restart
    assert again.get(weak).pinned and again.get(weak).history[-1]["op"] == "pin"
    assert [r.id for r in again.recall("open the fridge", insights=1).insights] == [weak]
    rules = [again.get(weak)]
    apply_operations(again, [Operation("REMOVE", 1, "")], rules)
    assert again.get(weak) is not None and again.get(weak).strength == 1  # weakened, kept
    assert not again.pin(weak, False).pinned
    apply_operations(again, [Operation("REMOVE", 1, "")], [again.get(weak)])
    assert again.get(weak) is None  # unpinned, it goes as any rule does
    trajectory = again.add(TrajectoryRecord(task="t", env="alfworld"))
    with pytest.raises(UserError, match="Only insights can be pinned.*is a trajectory"):
        again.pin(trajectory)
    with pytest.raises(UserError, match="there is no record 999"):
        again.pin(999)
