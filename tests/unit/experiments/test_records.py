"""EpisodeRecord: the one shape of episodes.jsonl; old lines read back, new fields survive, one conversion to
the memory's TrajectoryRecord."""

from agentkit.experiments import EpisodeRecord

# Lines as `agentkit eval` wrote them before EpisodeRecord existed: an agent's, the expert's, a crash.
OLD_AGENT = {"task_id": "coin/1", "task_type": "coin", "env": "textworld_express", "split": "test",
             "task": "find the coin", "opening": "A kitchen.", "won": True, "reward": 1.0, "steps": 2,
             "stop_reason": None, "calls": 2, "tokens": {"prompt": 900, "cached": 400, "completion": 40, "total": 940},
             "model": "qwen-1.5b", "workflow": "react", "memory_ids": None,
             "trajectory": [{"thought": "look", "action": "look", "observation": "A coin.", "valid": True},
                            {"thought": "take", "action": "take coin", "observation": "Taken.", "valid": True}],
             "error": None, "seconds": 3.5, "finished_at": 1.7e9}
OLD_EXPERT = {"task_id": "coin/2", "task_type": "coin", "env": "textworld_express", "split": "train",
              "task": "find the coin", "won": True, "reward": 1.0, "steps": 1, "policy": "expert",
              "transcript": "Task: find the coin\nA kitchen.\nAction: take coin\nObservation: Taken.",
              "memory_ids": [7], "error": None, "seconds": 0.2, "finished_at": 1.7e9}
OLD_CRASH = {"task_id": "coin/3", "task_type": "coin", "env": "textworld_express", "split": "test", "won": False,
             "reward": 0.0, "steps": 0, "error": "textworld_express failed on task 'coin/3': Py4JError",
             "seconds": 0.1, "finished_at": 1.7e9}


def test_old_lines_read_back_with_every_field_they_had():
    agent, expert, crash = (EpisodeRecord.from_json(r) for r in (OLD_AGENT, OLD_EXPERT, OLD_CRASH))
    assert agent.tokens["total"] == 940 and agent.trajectory[1]["action"] == "take coin" and agent.policy == "agent"
    assert expert.policy == "expert" and expert.memory_ids == [7] and expert.trajectory == []
    assert crash.error.startswith("textworld_express failed") and crash.tokens["total"] == 0 and crash.task == ""
    for old, record in ((OLD_AGENT, agent), (OLD_EXPERT, expert), (OLD_CRASH, crash)):
        assert {k: v for k, v in record.to_json().items() if k in old} == old  # nothing lost or changed
        assert record.extra == {}


def test_a_field_from_a_newer_agentkit_is_kept_and_written_back():
    record = EpisodeRecord.from_json({**OLD_AGENT, "judge_score": 0.75})
    assert record.extra == {"judge_score": 0.75} and record.to_json()["judge_score"] == 0.75
    assert EpisodeRecord.from_json(record.to_json()) == record


def test_an_episode_becomes_a_memory_trajectory():
    t = EpisodeRecord.from_json(OLD_AGENT).to_trajectory()
    assert (t.task, t.opening, t.won, t.steps[0]["action"], t.source, t.workflow, t.model) == \
        ("find the coin", "A kitchen.", True, "look", "agent", "react", "qwen-1.5b")
    demo = EpisodeRecord(task_id="coin/2", env="textworld_express", task_type="coin", policy="expert",
                         task="find the coin", won=True, reward=1.0, steps=1,
                         trajectory=[{"thought": "", "action": "take coin", "observation": "Taken.", "valid": True}])
    t = demo.to_trajectory()
    assert (t.source, t.workflow, t.task_id, t.task_type) == ("expert", "expert", "coin/2", "coin")
