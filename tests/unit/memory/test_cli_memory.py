"""``agentkit learn`` then ``agentkit memory …`` and ``agentkit eval --memory --frozen``, end to end."""

import json

from agentkit.cli import main
from agentkit.envs.webshop.server import serving

REPLY = "scripted:Thought: try.\nAction: click[Buy Now]"


def test_learn_records_episodes_and_reflections_then_the_memory_commands_work(tmp_path, capsys):
    mem, run = str(tmp_path / "mem"), str(tmp_path / "learn")
    with serving() as url:
        common = ["--env", "webshop", "--env-option", f"url={url}", "--env-option", "goals=3", "-m", REPLY,
                  "--max-steps", "2", "--embedder", "hash", "--no-plot"]
        assert main(["learn", *common, "--memory", mem, "--out", run, "--distill-every", "2"]) == 0
        records = [json.loads(x) for x in (tmp_path / "learn" / "episodes.jsonl").read_text().splitlines()]
        assert len(records) == 3 and all(len(r["memory_ids"]) == 2 for r in records)  # trajectory + reflection
        assert "insights: no insight changes" in capsys.readouterr().out  # no success to compare with

        assert main(["memory", "stats", "--memory", mem, "--embedder", "hash"]) == 0
        out = capsys.readouterr().out
        assert "trajectory │     3" in out and "reflection │     3" in out and "0 successes, 3 failures" in out
        assert main(["memory", "search", "buy", "--kind", "reflection", "--memory", mem, "--embedder", "hash"]) == 0
        assert "Action: click[Buy Now]" in capsys.readouterr().out
        assert main(["memory", "show", "1", "--memory", mem, "--embedder", "hash"]) == 0
        assert '"kind": "trajectory"' in capsys.readouterr().out
        assert main(["memory", "export", str(tmp_path / "m.jsonl"), "--memory", mem, "--embedder", "hash"]) == 0
        assert main(["memory", "import", str(tmp_path / "m.jsonl"), "--memory", str(tmp_path / "copy"),
                     "--embedder", "hash"]) == 0
        assert "imported 6 records" in capsys.readouterr().out

        frozen = str(tmp_path / "frozen")
        assert main(["eval", *common, "--memory", mem, "--frozen", "--out", frozen]) == 0
        assert "read-only" in capsys.readouterr().out
        assert all(r.get("memory_ids") is None
                   for r in map(json.loads, (tmp_path / "frozen" / "episodes.jsonl").read_text().splitlines()))
        assert main(["memory", "prune", "--failures-older-than", "0", "--memory", mem, "--embedder", "hash"]) == 0
        assert "deleted 3 trajectories" in capsys.readouterr().out


def test_memory_commands_refuse_bad_input_with_what_to_do(tmp_path, capsys):
    assert main(["memory", "stats", "--memory", str(tmp_path / "none")]) == 2
    assert "agentkit learn --memory" in capsys.readouterr().err
    assert main(["memory", "search", "--memory", str(tmp_path)]) == 2
    assert "needs the text to search for" in capsys.readouterr().err
    assert main(["eval", "--env", "webshop", "--frozen", "--out", str(tmp_path / "x")]) == 2
    assert "--frozen needs --memory" in capsys.readouterr().err
    assert main(["learn", "--env", "webshop", "--frozen", "--memory", str(tmp_path)]) == 2
    assert "drop --frozen" in capsys.readouterr().err


def test_memory_distill_applies_the_models_operations(tmp_path, capsys):
    from agentkit.memory.embed import HashEmbedder
    from agentkit.memory.experience import Memory
    from agentkit.memory.records import TrajectoryRecord

    mem = tmp_path / "mem"
    with Memory(mem, embedder=HashEmbedder()) as memory:
        memory.add(TrajectoryRecord(task="find the coin", env="textworld_express", task_type="coin", won=True,
                                    steps=[{"action": "take coin", "observation": "You take the coin."}]))
        memory.add(TrajectoryRecord(task="find the coin", env="textworld_express", task_type="coin", won=False,
                                    steps=[{"action": "look around", "observation": "You also see a coin."}]))
    reply = "scripted:ADD: When you see the coin, take it at once.\nCONCEPT coin: it lies on the floor of a room."
    assert main(["memory", "distill", "-m", reply, "--memory", str(mem), "--embedder", "hash"]) == 0
    assert "insights: 1 added; concepts written: 1" in capsys.readouterr().out
    assert main(["memory", "search", "coin", "--kind", "insight", "--memory", str(mem), "--embedder", "hash"]) == 0
    assert "[2] When you see the coin, take it at once." in capsys.readouterr().out
    assert main(["memory", "stats", "--memory", str(mem), "--embedder", "hash"]) == 0
    assert "strongest insights:\n  [2] When you see the coin" in capsys.readouterr().out


def test_memory_pin_and_unpin_an_insight_and_refuse_another_record(tmp_path, capsys):
    from agentkit.memory.embed import HashEmbedder
    from agentkit.memory.experience import Memory
    from agentkit.memory.records import Insight, TrajectoryRecord

    mem = tmp_path / "mem"
    with Memory(mem, embedder=HashEmbedder()) as memory:
        rule = memory.add(Insight(text="Check the drawers first."))
        other = memory.add(TrajectoryRecord(task="t"))
    flags = ["--memory", str(mem), "--embedder", "hash"]
    assert main(["memory", "pin", str(rule), *flags]) == 0
    assert f"insight {rule} pinned: Check the drawers first." in capsys.readouterr().out
    with Memory(mem, embedder=HashEmbedder()) as memory:
        assert memory.get(rule).pinned
    assert main(["memory", "unpin", str(rule), *flags]) == 0
    assert "unpinned" in capsys.readouterr().out
    assert main(["memory", "pin", str(other), *flags]) == 2
    assert "Only insights can be pinned" in capsys.readouterr().err
    assert main(["memory", "pin", *flags]) == 2
    assert "needs an insight id" in capsys.readouterr().err
