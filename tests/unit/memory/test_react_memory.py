"""ReAct with an experience memory: a failure is recorded with a reflection, and the next episode sees it."""

import asyncio

from agentkit.context import RunContext
from agentkit.memory.embed import HashEmbedder
from agentkit.memory.experience import Memory
from agentkit.models.testing import ScriptedModel
from agentkit.workflows import react
from tests.unit.envs.fakes import Coin


def _episode(memory, replies, task_id="t0"):
    model = ScriptedModel(replies)
    env = Coin()
    state = asyncio.run(react.build(max_steps=2, resamples=0).ainvoke(
        {"task_id": task_id}, context=RunContext(model, env=env, memory=memory)))
    asyncio.run(env.close())
    return state, model


def test_a_failed_episode_leaves_a_lesson_that_the_next_episode_reads(tmp_path):
    memory = Memory(tmp_path, embedder=HashEmbedder())
    state, model = _episode(memory, ["Thought: look.\nAction: look", "Thought: again.\nAction: look",
                                     "Lesson: take the coin instead of looking."])
    assert not state["won"] and len(state["memory_ids"]) == 2
    trajectory, reflection = memory.store.list("trajectory")[0], memory.store.list("reflection")[0]
    assert (trajectory.task, trajectory.env, trajectory.workflow) == ("take the coin", "coin", "react")
    assert [s["action"] for s in trajectory.steps] == ["look", "look"]
    assert reflection.text == "take the coin instead of looking." and reflection.trajectory_id == trajectory.id

    state, model = _episode(memory, ["Thought: my lesson says take it.\nAction: take coin"], task_id="t2")
    system = model.requests[0].messages[0]["content"]
    assert "From your memory of earlier tasks" in system and "take the coin instead of looking." in system
    assert state["won"] and len(state["memory_ids"]) == 1  # a success: no reflection
    state, model = _episode(memory, ["Thought: take.\nAction: take coin"], task_id="t4")
    assert "Solved similar task:\nTask: take the coin\n> take coin: You take the coin." in \
        model.requests[0].messages[0]["content"]


def test_a_frozen_memory_is_read_but_never_written(tmp_path):
    memory = Memory(tmp_path, embedder=HashEmbedder())
    _episode(memory, ["Thought: look.\nAction: look", "Thought: again.\nAction: look", "Lesson: take it."])
    memory.close()
    frozen = Memory(tmp_path, embedder=HashEmbedder(), frozen=True)
    state, model = _episode(frozen, ["Thought: look.\nAction: look", "Thought: again.\nAction: look"])
    assert "take it." in model.requests[0].messages[0]["content"] and "memory_ids" not in state
    assert frozen.store.count() == 2 and len(model.requests) == 2  # no reflection call either


def test_without_memory_the_nodes_do_nothing():
    state, model = _episode(None, ["Thought: take.\nAction: take coin"])
    assert state["won"] and "memory" not in model.requests[0].messages[0]["content"]
