"""Designs and the design search on the real things: a search on TextWorldExpress simonsays (the real engine,
a scripted agent), and a debate design and a planner design playing GSM8K problems on the real tiny model."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from agentkit.experiments import run_eval
from agentkit.experiments.designs import load_design
from agentkit.experiments.search import Budget, SearchConfig, run_search

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "gsm8k"


@pytest.mark.envs
def test_a_search_on_simonsays_plays_the_real_engine_and_resumes_from_its_cache(require, tmp_path):
    require("textworld_express")
    seed = load_design(ROOT / "examples" / "designs" / "twx-react.yaml")
    config = SearchConfig(target="twx:simonsays", seed_design=seed, budget=Budget(episodes=30),
                          model="scripted:Thought: look.\nAction: look around", batch=2, sizes=(3, 4, 4))
    result = asyncio.run(run_search(config, out=tmp_path / "s"))
    assert result.archive[0].validation.n == 4 and result.spent["episodes"] <= 30
    assert all(c.status in ("seed", "promoted", "raced out", "invalid", "duplicate") for c in result.archive)
    episodes = [json.loads(x) for f in (tmp_path / "s" / "episodes").glob("*/episodes.jsonl")
                for x in f.read_text().splitlines()]
    assert episodes and all(e["env"] == "textworld_express" and e["task_type"] == "simonsays" for e in episodes)
    again = asyncio.run(run_search(config, out=tmp_path / "s", resume=True))
    assert again.spent["episodes"] == result.spent["episodes"]  # the budget was spent: nothing new is played


@pytest.mark.llm
@pytest.mark.parametrize("design", ["gsm8k-debate.yaml", "gsm8k-cot.yaml"])
def test_a_design_plays_gsm8k_on_the_tiny_model(tiny_path, design, tmp_path, monkeypatch):
    folder = os.environ.get("GSM8K_DATA") or (str(DATA) if DATA.is_dir() else None)
    if folder is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)("no GSM8K data: set GSM8K_DATA or put ../shared/data")
    monkeypatch.setenv("GSM8K_DATA", folder)
    loaded = load_design(ROOT / "examples" / "designs" / design)
    data = dict(loaded.data)
    data["sampling"] = {**data["sampling"], "max_tokens": 256}
    if design == "gsm8k-cot.yaml":
        data["roles"] = {**data["roles"], "planner": True}
    config = type(loaded).from_data(data).eval_config(task="gsm8k", tasks=["train-0600", "train-0601"],
                                                       model=f"llamacpp:{tiny_path}")
    result = asyncio.run(run_eval(config, out=tmp_path / "run"))
    assert len(result.records) == 2 and all(r.error is None for r in result.records)
    assert all(r.workflow == ("debate" if "debate" in design else "planned") for r in result.records)
    least = 1 if "debate" in design else 2  # debaters who agree at once end the debate after one call
    assert all(r.calls >= least and r.tokens["completion"] > 0 for r in result.records)
    assert any(r.trajectory[0]["action"] is not None for r in result.records)  # an answer was extracted
