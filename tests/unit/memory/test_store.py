"""One suite for every store implementation: records round-trip, filters, cascades, the change log."""

import sqlite3

import pytest

from agentkit.errors import UserError
from agentkit.memory.records import Concept, Insight, Reflection, TrajectoryRecord
from agentkit.memory.store import InMemoryStore, SQLiteStore


@pytest.fixture(params=["sqlite", "memory"])
def store(request, tmp_path):
    s = SQLiteStore(tmp_path / "m.sqlite") if request.param == "sqlite" else InMemoryStore()
    yield s
    s.close()


def _trajectory(task="put a mug in the sink", won=True, env="alfworld", task_type="pick"):
    return TrajectoryRecord(task=task, env=env, task_type=task_type, won=won, reward=float(won),
                            steps=[{"thought": "t", "action": "go to sink 1", "observation": "ok", "valid": True}])


def test_every_kind_round_trips_with_a_new_id(store):
    records = [_trajectory(), Insight(text="Open receptacles.", sources=[1]), Concept(name="mug", text="in cabinets")]
    ids = [store.put(r) for r in records]
    reflection = Reflection(trajectory_id=ids[0], task="put a mug in the sink", text="Look in the cabinets.")
    ids.append(store.put(reflection))
    assert len(set(ids)) == 4 and all(i > 0 for i in ids)
    for record, record_id in zip([*records, reflection], ids):
        assert record.id == record_id
        assert store.get(record_id) == record
    assert store.get_many([ids[2], 999, ids[0]]) == [records[2], records[0]]
    assert store.count() == 4 and store.count("insight") == 1


def test_list_filters_by_env_type_and_outcome(store):
    store.put(_trajectory(won=True))
    store.put(_trajectory(won=False))
    store.put(_trajectory(env="twx", task_type="coin"))
    assert [t.won for t in store.list("trajectory", env="alfworld")] == [True, False]
    assert [t.env for t in store.list("trajectory", won=True)] == ["alfworld", "twx"]
    assert len(store.list("trajectory", task_type="coin")) == 1
    assert len(store.list("trajectory", limit=2)) == 2
    assert store.list("insight") == []


def test_replacing_a_record_keeps_its_id_and_logs_only_a_change_of_wording(store):
    insight = Insight(text="Old rule.")
    record_id = store.put(insight)
    insight.strength += 1
    store.put(insight)
    assert store.get(record_id).strength == 3
    insight.text = "New rule."
    store.put(insight)
    assert [(c.id, c.op) for c in store.changes(0)] == [(record_id, "put"), (record_id, "put")]
    with pytest.raises(UserError, match="put it without an id"):
        store.put(Insight(id=12345, text="ghost"))


def test_deleting_a_trajectory_takes_its_reflections_and_is_logged(store):
    t = store.put(_trajectory(won=False))
    r = store.put(Reflection(trajectory_id=t, task="x", text="lesson"))
    keep = store.put(_trajectory())
    mark = store.last_change()
    assert store.delete(t) is True and store.delete(t) is False
    assert store.get(r) is None and store.get(keep) is not None
    assert sorted((c.id, c.op) for c in store.changes(mark)) == [(t, "delete"), (r, "delete")]


def test_keys_are_what_gets_embedded(store):
    t = store.put(_trajectory(task="slice an apple"))
    c = store.put(Concept(name="apple", text="on countertops"))
    assert store.keys("trajectory") == [(t, "slice an apple")]
    assert store.keys("concept") == [(c, "apple: on countertops")]


def test_a_newer_schema_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "m.sqlite"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(UserError, match="Upgrade agentkit"):
        SQLiteStore(path)


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "m.sqlite"
    path.write_bytes(b"not a database, but someone's notes" * 100)
    with pytest.raises(UserError, match="not a usable agentkit memory"):
        SQLiteStore(path)
    assert path.read_bytes().startswith(b"not a database")


def test_the_store_uses_wal_and_reopens_with_its_records(tmp_path):
    path = tmp_path / "m.sqlite"
    store = SQLiteStore(path)
    record_id = store.put(_trajectory())
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    again = SQLiteStore(path)
    assert again.get(record_id).task == "put a mug in the sink" and again.check() == "ok"


def test_put_many_is_one_transaction_all_or_nothing(tmp_path):
    store = SQLiteStore(tmp_path / "m.sqlite")
    good = [_trajectory(task=f"t{i}") for i in range(3)]
    assert store.put_many(good) == [1, 2, 3]
    batch = [_trajectory(task="new"), Insight(id=999, text="ghost")]
    with pytest.raises(UserError):
        store.put_many(batch)
    assert store.count() == 3 and batch[0].id is None


def test_ids_and_outcomes_answer_without_reading_records(store):
    a, b = store.put(_trajectory(won=True)), store.put(_trajectory(won=False))
    c = store.put(_trajectory(env="twx", won=True))
    store.put(Insight(text="rule"))
    assert store.ids("trajectory") == {a, b, c} and store.ids("trajectory", env="alfworld", won=False) == {b}
    assert store.outcomes() == {"alfworld": (1, 1), "twx": (1, 0)}
