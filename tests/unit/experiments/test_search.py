"""The design search: it finds a better design when one is reachable, races children against their parents,
pays for nothing twice, resumes after kill -9, stops at its budget, and says what is wrong with bad input."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentkit.errors import UserError
from agentkit.experiments.cache import EpisodeCache
from agentkit.experiments.designs import load_design
from agentkit.experiments.search import Budget, SearchConfig, run_search
from agentkit.models.registry import BACKENDS
from agentkit.workflows.tasks import TASKS

ROOT = Path(__file__).resolve().parents[3]
SEED = load_design(ROOT / "examples" / "designs" / "gsm8k-cot.yaml")


@pytest.fixture
def sums(monkeypatch):
    monkeypatch.setitem(TASKS, "sums", "tests.unit.experiments.fakes:Sums")
    monkeypatch.setitem(BACKENDS, "picky", "tests.unit.experiments.fakes:Picky")
    return "task:sums"


def _config(target, episodes, **kwargs):
    settings = {"model": "picky:x", "batch": 3, "sizes": (6, 8, 8), **kwargs}
    return SearchConfig(target=target, seed_design=SEED, budget=Budget(episodes=episodes), **settings)


def _search(config, out, **kwargs):
    return asyncio.run(run_search(config, out=out, **kwargs))


def test_evolve_finds_the_reachable_better_design_and_races_children_against_parents(sums, tmp_path):
    result = _search(_config(sums, 200), tmp_path / "a")
    seed = result.archive[0]
    assert seed.status == "seed" and seed.validation.success == 0.0 and seed.validation.n == 8
    best = result.best
    assert best.validation.success == 1.0 and "carefully" in json.dumps(best.design.data["prompts"])
    assert result.stopped.startswith("episode budget") and result.spent["episodes"] <= 200
    for c in result.archive[1:]:
        if c.status in ("promoted", "raced out"):
            assert c.batch["ids"] and len(c.batch["ids"]) == 3
            assert (c.status == "promoted") == (c.batch["child"]["won"] >= c.batch["parent"]["won"])
    lines = (tmp_path / "a" / "archive.jsonl").read_text().splitlines()
    assert [json.loads(x)["iteration"] for x in lines] == list(range(len(result.archive)))
    assert (tmp_path / "a" / "designs" / f"{best.design.id}.yaml").exists()


def test_random_children_all_descend_from_the_seed(sums, tmp_path):
    result = _search(_config(sums, 80, strategy="random"), tmp_path / "r")
    made = [c for c in result.archive[1:] if c.design is not None]
    assert made and all(c.parents == [SEED.id] for c in made) and all(c.operator == "random" for c in made)


def test_nothing_is_paid_twice_across_searches_sharing_a_folder(sums, tmp_path):
    first = _search(_config(sums, 40), tmp_path / "one")
    again = _search(_config(sums, 1), tmp_path / "two")  # the same choices: what the first played is cached
    assert first.spent["episodes"] > 0 and again.spent["episodes"] == 0
    assert [c.design.id for c in again.archive if c.design][: len(first.archive)] == \
        [c.design.id for c in first.archive if c.design]
    assert again.spent["cache_hits"] >= first.spent["episodes"]
    cache = EpisodeCache(tmp_path / "episode-cache.sqlite")
    rows = cache._db.execute("SELECT COUNT(*) FROM episodes").fetchone()[0]
    assert rows == first.spent["episodes"]
    cache.close()


def test_a_resumed_search_goes_on_from_its_archive_and_refuses_other_settings(sums, tmp_path):
    out = tmp_path / "s"
    short = _search(_config(sums, 30), out)
    with pytest.raises(UserError, match="already holds a search; pass --resume"):
        _search(_config(sums, 60), out)
    with pytest.raises(UserError, match=r"other settings \(strategy\)"):
        _search(_config(sums, 60, strategy="random"), out, resume=True)
    longer = _search(_config(sums, 60), out, resume=True)
    assert [c.to_json() for c in longer.archive[: len(short.archive)]] == [c.to_json() for c in short.archive]
    assert len(longer.archive) > len(short.archive)
    assert longer.spent["episodes"] <= 60
    assert longer.spent["cache_hits"] >= short.spent["cache_hits"]  # counted over both runs


def test_score_design_plays_a_whole_part_once_through_the_cache(sums, tmp_path):
    from agentkit.experiments.search import score_design
    from agentkit.experiments.targets import get_target

    target = get_target(sums, search=6, validation=8, test=5)
    kwargs = {"model": "picky:x", "out": tmp_path / "test", "cache": tmp_path / "cache.sqlite"}
    score, records = asyncio.run(score_design(SEED, target, "test", **kwargs))
    assert score.n == 5 and sorted(r.task_id for r in records) == sorted(target.parts["test"].ids)
    cache = EpisodeCache(tmp_path / "cache.sqlite")
    assert cache.spent(str((tmp_path / "test").resolve()) + "#test")["episodes"] == 5
    cache.close()
    again, _ = asyncio.run(score_design(SEED, target, "test", **kwargs))
    assert again == score
    cache = EpisodeCache(tmp_path / "cache.sqlite")
    assert cache.spent(str((tmp_path / "test").resolve()) + "#test")["episodes"] == 5  # nothing played again
    cache.close()



def test_episodes_a_server_blip_failed_are_played_again_and_never_cached_as_losses(sums, tmp_path, monkeypatch):
    from agentkit.errors import ModelServerError
    from agentkit.experiments.harness import server_failed
    from agentkit.experiments.search import score_design
    from agentkit.experiments.targets import get_target
    from tests.unit.experiments.fakes import Blip

    monkeypatch.setitem(BACKENDS, "blip", "tests.unit.experiments.fakes:Blip")
    monkeypatch.setattr(Blip, "calls", 0)
    monkeypatch.setattr(Blip, "failing", {2, 4})  # two episodes lost to the server, never two in a row
    target = get_target(sums, search=6, validation=8, test=5)
    kwargs = {"model": "blip:x", "out": tmp_path / "test", "cache": tmp_path / "cache.sqlite"}
    score, records = asyncio.run(score_design(SEED, target, "test", **kwargs))
    assert score.n == 5 and not any(server_failed(r) for r in records) and Blip.calls == 7  # 5 + 2 replayed
    cache = EpisodeCache(tmp_path / "cache.sqlite")
    errors = cache._db.execute("SELECT COUNT(*) FROM episodes WHERE record LIKE '%ModelServerError%'").fetchone()[0]
    assert errors == 0
    cache.close()

    monkeypatch.setattr(Blip, "calls", 0)
    monkeypatch.setattr(Blip, "failing", {1, 9})  # call 9 replays what call 1 lost: failed twice, it stops
    with pytest.raises(ModelServerError, match="failed 1 of design .* twice.*--resume"):
        asyncio.run(score_design(SEED, target, "validation", **kwargs))


_SLOW_SEARCH = """
import asyncio, sys
from agentkit.experiments.designs import load_design
from agentkit.experiments.search import Budget, SearchConfig, run_search
from agentkit.models.registry import BACKENDS
from agentkit.workflows.tasks import TASKS

TASKS["sums"] = "tests.unit.experiments.fakes:Sums"
BACKENDS["picky"] = "tests.unit.experiments.fakes:Picky"
config = SearchConfig(target="task:sums", seed_design=load_design(sys.argv[2]), budget=Budget(episodes=120),
                      model="picky:x?delay=0.02", batch=3, sizes=(6, 8, 8))
asyncio.run(run_search(config, out=sys.argv[1], resume=True))
"""


def test_kill_9_mid_search_then_resume_loses_and_repeats_nothing(tmp_path):
    script = tmp_path / "slow_search.py"
    script.write_text(_SLOW_SEARCH)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "search"
    args = [sys.executable, str(script), str(out), str(ROOT / "examples" / "designs" / "gsm8k-cot.yaml")]
    proc = subprocess.Popen(args, env=env)
    archive = out / "archive.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not archive.exists() or len(archive.read_text().splitlines()) < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = archive.read_text().splitlines()
    cache = EpisodeCache(tmp_path / "episode-cache.sqlite")
    paid_before = cache.spent(str(out.resolve()))["episodes"]
    assert len(before) >= 3 and paid_before > 0
    subprocess.run(args, env=env, check=True, timeout=300)
    after = archive.read_text().splitlines()
    assert after[: len(before)] == before and len(after) > len(before)
    assert [json.loads(x)["iteration"] for x in after] == list(range(len(after)))
    rows = cache._db.execute("SELECT COUNT(*), COUNT(DISTINCT design || task_id) FROM episodes").fetchone()
    assert rows[0] == rows[1] and cache.spent(str(out.resolve()))["episodes"] <= 120
    cache.close()


def test_bad_input_gets_a_clear_message(sums, tmp_path):
    with pytest.raises(UserError, match="budget's episodes must be positive, not 0"):
        Budget(episodes=0)
    with pytest.raises(UserError, match="Give the search a budget"):
        Budget()
    with pytest.raises(UserError, match="qa has 0 held-out problems"):
        _search(_config("task:qa", 10), tmp_path / "q")
    with pytest.raises(UserError, match="Unknown search target 'chess'"):
        _search(_config("chess", 10), tmp_path / "c")
    with pytest.raises(UserError, match="racing batch"):
        _config(sums, 10, batch=50)
    react = load_design(ROOT / "examples" / "designs" / "twx-react-critic.yaml")
    with pytest.raises(UserError, match="react acts in environments"):
        asyncio.run(run_search(SearchConfig(sums, react, Budget(episodes=5), model="picky:x", batch=3,
                                            sizes=(6, 8, 8)), out=tmp_path / "x"))


def test_the_report_shows_the_front_lineage_and_cost_and_draws_the_front(sums, tmp_path, capsys):
    from agentkit.cli import main

    _search(_config(sums, 120), tmp_path / "a")
    capsys.readouterr()
    assert main(["search", "report", str(tmp_path / "a")]) == 0
    shown = capsys.readouterr().out
    assert "the front" in shown and "lineage of the best design seed" in shown and "episodes played" in shown
    assert (tmp_path / "a" / "front.png").stat().st_size > 1000
    assert main(["search", "report", str(tmp_path)]) == 2
    assert "is not a search folder" in " ".join(capsys.readouterr().err.split())
