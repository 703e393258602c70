"""GSM8K on the real tiny model (0.5B): the CLI's per-problem run, and a verifier-guided beam search that
continues the model's own solution step by step (the real llama.cpp batch and logprobs paths)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.context import RunContext
from agentkit.limits import Limits
from agentkit.runtime import run
from agentkit.workflows import best_of_n, tot
from agentkit.workflows.tasks import get_task

pytestmark = pytest.mark.llm

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "gsm8k"
QUESTION = "Tom has 3 boxes with 4 apples each. He eats 2 apples. How many apples are left?"


@pytest.fixture(scope="module")
def gsm8k_data(require):
    folder = os.environ.get("GSM8K_DATA") or (str(DATA) if DATA.is_dir() else None)
    if folder is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)("no GSM8K data: set GSM8K_DATA or put ../shared/data")
    return folder


def test_the_cli_runs_gsm8k_problems_with_self_consistency(tiny_path, gsm8k_data):
    env = {**os.environ, "GSM8K_DATA": gsm8k_data}
    out = subprocess.run([sys.executable, "-m", "agentkit.cli", "run", "--task", "gsm8k", "--workflow", "sc", "--n", "2",
                          "--limit", "1", "--max-tokens", "384", "--model", f"llamacpp:{tiny_path}", "--json"],
                         check=False, capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["problem"].startswith("train-") and isinstance(data["correct"], bool)
    assert len(data["state"]["candidates"]) == 2 and data["usage"]["calls"] == 1  # one batched call


def test_verifier_guided_beam_continues_the_solution_on_the_real_model(tiny):
    ctx = RunContext(tiny, max_tokens=256, limits=Limits(calls=12))
    graph = tot.build(task="gsm8k", algo="beam", width=1, k=2, max_depth=4, verifier="task", aggregate="min")
    state = asyncio.run(run(graph, {"question": QUESTION}, ctx))
    steps = max((n for n in state["tree"]), key=lambda n: n["depth"])["state"]["steps"]
    assert steps and all("\n\n" not in s for s in steps)  # a step is one paragraph of the solution
    assert state["answer"] is not None or state["error"]


def test_best_of_n_with_the_models_own_judge(tiny):
    ctx = RunContext(tiny, max_tokens=256)
    state = asyncio.run(run(best_of_n.build(task=get_task("gsm8k"), n=2, verifier="llm"), {"question": QUESTION}, ctx))
    scores = [c["score"] for c in state["candidates"] if c["answer"] is not None]
    assert scores and all(0.0 <= s <= 1.0 for s in scores)
    assert all("llm last of 1 step score" in c["feedback"] for c in state["candidates"] if c["answer"] is not None)
