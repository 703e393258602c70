"""One tiny run of every workflow on the real embedded model (0.5B): the graph completes, spends within its
budget, and whatever the model writes ends as an answer or a recorded reason — never a crash."""

import asyncio

import pytest

from agentkit.context import RunContext
from agentkit.limits import Limits
from agentkit.runtime import run
from agentkit.workflows.registry import build_workflow
from agentkit.workflows.tasks import get_task

pytestmark = pytest.mark.llm

RUNS = [
    ("cot", "qa", "What is 12 + 30?", {}),
    ("sc", "qa", "What is 12 + 30?", {"n": 2}),
    ("best-of-n", "game24", "4 9 10 13", {"n": 2}),
    ("react", "qa", "What is 17 * 23? Use the calculator.", {"max_steps": 3}),
    ("reflexion", "game24", "4 9 10 13", {"max_trials": 2}),
    ("tot", "game24", "4 9 10 13", {"algo": "bfs", "breadth": 1, "k": 2}),
    ("tot", "game24", "4 9 10 13", {"algo": "dfs", "k": 2}),
    ("tot", "game24", "4 9 10 13", {"algo": "beam", "width": 1, "k": 2}),
    ("got", "game24", "4 9 10 13", {"k": 2, "refine_rounds": 1}),
    ("mcts", "game24", "4 9 10 13", {"iterations": 2, "k": 2}),
]


@pytest.mark.parametrize(("name", "task", "question", "options"), RUNS,
                         ids=[f"{r[0]}-{r[3].get('algo', '')}" for r in RUNS])
def test_every_workflow_runs_on_the_real_model(tiny, name, task, question, options):
    ctx = RunContext(tiny, max_tokens=160, limits=Limits(calls=8))
    state = asyncio.run(run(build_workflow(name, task=get_task(task), **options), {"question": question}, ctx))
    assert 1 <= ctx.spent.calls <= 8 and ctx.spent.completion_tokens > 0
    assert "answer" in state
    assert state["answer"] is not None or state.get("error") or state.get("stop_reason")
    if name == "cot":
        assert "42" in state["answer"]
    if name == "react":
        assert any(s["action"] for s in state["steps"])  # the model produced a parseable action
