"""The experience memory with real parts: the offline MiniLM embedder, TextWorldExpress, the tiny model."""

from __future__ import annotations

import asyncio

import pytest

from agentkit.cli import main

pytestmark = [pytest.mark.envs, pytest.mark.llm, pytest.mark.slow]
COIN = "numLocations=2,includeDoors=0,numDistractorItems=0"


def test_expert_demonstrations_seed_a_memory_that_a_react_episode_recalls_and_extends(require, tiny, tmp_path):
    require("textworld_express")
    require("faiss")
    from agentkit.context import RunContext
    from agentkit.envs.textworld_express import TextWorldExpress
    from agentkit.memory.experience import Memory
    from agentkit.workflows import react

    mem = str(tmp_path / "mem")
    assert main(["learn", "--env", "twx", "--env-option", "games=coin", "--env-option", f"params={COIN}",
                 "--policy", "expert", "--per-type", "2", "--memory", mem, "--out", str(tmp_path / "learn"),
                 "--no-plot"]) == 0
    memory = Memory(mem)
    demos = memory.store.list("trajectory")
    assert len(demos) == 2 and all(t.won and t.source == "expert" and t.steps for t in demos)

    async def episode():
        env = TextWorldExpress(["coin"], params=COIN, episodes=1)
        try:
            graph = react.build(max_steps=3, context_tokens=1500, reply_tokens=60, resamples=0)
            return await graph.ainvoke({"task_id": env.task_ids()[0]},
                                       context=RunContext(tiny, env=env, memory=memory))
        finally:
            await env.close()

    state = asyncio.run(episode())
    assert "Solved similar task:" in state["recalled"] and "take coin" in state["recalled"]
    assert memory.store.count("trajectory") == 3
    reflections = memory.store.list("reflection")
    assert len(reflections) == (0 if state["won"] else 1)
    if reflections:  # the tiny model's own lesson, linked to its failed episode
        assert reflections[0].text.strip() and memory.get(reflections[0].trajectory_id).source == "agent"
    memory.close()
    assert main(["memory", "search", "find the coin", "--memory", mem]) == 0
