"""Workflows with an experience memory: a failure is recorded with a reflection, and the next run sees it."""

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
    first = model.requests[0].messages
    assert "memory" not in first[0]["content"]  # the system prompt stays the same for every episode (KV reuse)
    assert first[1]["content"].startswith("From your memory of earlier tasks:\nLessons from failed attempts")
    assert "take the coin instead of looking." in first[1]["content"]
    assert state["won"] and len(state["memory_ids"]) == 1  # a success: no reflection
    state, model = _episode(memory, ["Thought: take.\nAction: take coin"], task_id="t4")
    assert "Solved similar task:\nTask: take the coin\nStart: A coin lies here.\n> take coin -> You take the coin." in \
        model.requests[0].messages[1]["content"]


def test_a_frozen_memory_is_read_but_never_written(tmp_path):
    memory = Memory(tmp_path, embedder=HashEmbedder())
    _episode(memory, ["Thought: look.\nAction: look", "Thought: again.\nAction: look", "Lesson: take it."])
    memory.close()
    frozen = Memory(tmp_path, embedder=HashEmbedder(), frozen=True)
    state, model = _episode(frozen, ["Thought: look.\nAction: look", "Thought: again.\nAction: look"])
    assert "take it." in model.requests[0].messages[1]["content"] and "memory_ids" not in state
    assert frozen.store.count() == 2 and len(model.requests) == 2  # no reflection call either


def test_without_memory_the_nodes_do_nothing():
    state, model = _episode(None, ["Thought: take.\nAction: take coin"])
    assert state["won"] and "memory" not in str(model.requests[0].messages)


def test_reflexion_stores_its_own_last_lesson_and_the_next_run_recalls_it():
    from agentkit.workflows import reflexion

    memory = Memory(None, embedder=HashEmbedder())
    model = ScriptedModel(["Answer: 4 * 6", "Use 13 - 9 first.", "Answer: 4 + 9 + 10 + 13"])
    graph = reflexion.build(task="game24", max_trials=2)
    state = asyncio.run(graph.ainvoke({"question": "4 9 10 13"}, context=RunContext(model, memory=memory)))
    assert len(model.requests) == 3 and len(state["memory_ids"]) == 2  # no extra call for the lesson
    trajectory = memory.store.list("trajectory")[0]
    assert (trajectory.task, trajectory.won, trajectory.task_type) == ("4 9 10 13", False, "game24")
    assert [s["action"] for s in trajectory.steps] == ["answer 4 * 6", "answer 4 + 9 + 10 + 13"]
    assert memory.store.list("reflection")[0].text == "Use 13 - 9 first."
    model = ScriptedModel(["Answer: (13 - 9) * (10 - 4)"])
    state = asyncio.run(graph.ainvoke({"question": "4 9 10 13"}, context=RunContext(model, memory=memory)))
    assert state["answer"] == "(13 - 9) * (10 - 4)" and "Use 13 - 9 first." in model.requests[0].messages[0]["content"]
    assert memory.store.list("trajectory")[1].won


def test_tree_of_thoughts_stores_its_solution_path_and_later_searches_get_it_as_a_hint():
    from agentkit.workflows import tot
    from tests.unit.workflows.test_search import SOLVABLE, VALUES, game24_model

    memory = Memory(None, embedder=HashEmbedder())
    graph = tot.build(task="game24", algo="bfs", breadth=1)
    model = game24_model(SOLVABLE, VALUES)
    state = asyncio.run(graph.ainvoke({"question": "4 9 10 13"}, context=RunContext(model, memory=memory)))
    assert state["answer"] == "(13 - 9) * (10 - 4)" and len(state["memory_ids"]) == 1
    trajectory = memory.store.list("trajectory")[0]
    assert trajectory.won and trajectory.workflow == "search"
    assert [s["action"] for s in trajectory.steps] == ["13 - 9 = 4", "10 - 4 = 6", "4 * 6 = 24"]
    model = game24_model(SOLVABLE, VALUES)
    asyncio.run(graph.ainvoke({"question": "4 9 10 13"}, context=RunContext(model, memory=memory)))
    assert "> 13 - 9 = 4 ->" in model.requests[0].messages[-1]["content"]


def test_react_with_tools_records_nothing_there_is_no_outcome_to_learn_from():
    memory = Memory(None, embedder=HashEmbedder())
    model = ScriptedModel(["Thought: done.\nAction: finish[391]"])
    state = asyncio.run(react.build().ainvoke({"question": "17 * 23?"}, context=RunContext(model, memory=memory)))
    assert state["answer"] == "391" and memory.store.count() == 0 and len(model.requests) == 1
