"""Reflections, every insight operation, merging, history, removal at zero, and concepts."""

import asyncio
from dataclasses import astuple

from agentkit.memory.distill import (apply_operations, distill_concepts, distill_insights, location_concepts,
                                     parse_concepts, parse_operations, reflect)
from agentkit.memory.embed import HashEmbedder
from agentkit.memory.experience import Memory
from agentkit.memory.records import Insight, TrajectoryRecord
from agentkit.models.testing import ScriptedModel


def _memory():
    return Memory(None, embedder=HashEmbedder())


def _trajectory(memory, task, won, observation="You see nothing.", task_type="pick"):
    t = TrajectoryRecord(task=task, env="alfworld", task_type=task_type, won=won,
                         steps=[{"action": "go to cabinet 1", "observation": observation}])
    memory.add(t)
    return t


def _rules(memory, *texts):
    rules = [Insight(text=t) for t in texts]
    for rule in rules:
        memory.add(rule)
    return rules


def test_parse_keeps_well_formed_operations_and_skips_the_rest():
    reply = "Here you go:\n1. ADD: Look in drawers.\nEDIT 1: Check shelves first.\nUPVOTE #2\nDOWNVOTE rule 1\n" \
            "REMOVE 7\nEDIT 2:\nADD 3: numbered add\nnonsense"
    assert [tuple(o) for o in map(astuple, parse_operations(reply, 2, limit=9))] == [
        ("ADD", None, "Look in drawers."), ("EDIT", 1, "Check shelves first."), ("UPVOTE", 2, ""), ("DOWNVOTE", 1, "")]
    assert parse_concepts("CONCEPT mug: found in cabinets\nfoo\n- concept sink: cleans things") == \
        [("mug", "found in cabinets"), ("sink", "cleans things")]


def test_add_edit_upvote_downvote_remove_and_merge():
    memory = _memory()
    rules = _rules(memory, "Open closed receptacles before searching them.", "Use the sink to clean things.",
                   "Always look around first.")
    ops = parse_operations("ADD: Heat food in the microwave.\nEDIT 2: Clean objects in the sink basin.\nUPVOTE 1\n"
                           "DOWNVOTE 3\nADD: Open closed receptacles before searching them!", 3, limit=9)
    counts = apply_operations(memory, ops, rules, env="alfworld", sources=[11, 12])
    assert counts == {"added": 1, "merged": 1, "edited": 1, "upvoted": 1, "downvoted": 1, "removed": 0}
    by_text = {r.text: r for r in memory.store.list("insight")}
    assert by_text["Open closed receptacles before searching them."].strength == 4  # upvote + merge
    edited = by_text["Clean objects in the sink basin."]
    assert edited.history[-1]["old"] == "Use the sink to clean things." and edited.sources == [11, 12]
    assert by_text["Always look around first."].strength == 1
    assert by_text["Heat food in the microwave."].history[0]["op"] == "add"
    counts = apply_operations(memory, parse_operations("DOWNVOTE 1", 1), [by_text["Always look around first."]])
    assert counts["removed"] == 1 and "Always look around first." not in {r.text for r in memory.store.list("insight")}
    apply_operations(memory, parse_operations("REMOVE 1", 1), [by_text["Heat food in the microwave."]])
    assert memory.store.count("insight") == 2
    assert memory.search("microwave", kind="insight", k=5)[0][0].text != "Heat food in the microwave."


def test_reflect_stores_a_lesson_linked_to_the_failure():
    memory = _memory()
    failure = _trajectory(memory, "put a mug in the sink", won=False)
    model = ScriptedModel(["Lesson: The mug was in the cabinet; open cabinets first."])
    reflection = asyncio.run(reflect(memory, failure, model, reason="step limit"))
    assert reflection.text == "The mug was in the cabinet; open cabinets first."
    assert memory.store.list("reflection")[0].trajectory_id == failure.id
    prompt = model.requests[0].messages[-1]["content"]
    assert "put a mug in the sink" in prompt and "> go to cabinet 1" in prompt and "step limit" in prompt


def test_distill_compares_each_failure_with_a_success_of_its_type():
    memory = _memory()
    _trajectory(memory, "put a mug in the sink", won=True)
    _trajectory(memory, "put a cup in the sink", won=False)
    _trajectory(memory, "slice an apple", won=False, task_type="slice")  # no success of its type: skipped
    model = ScriptedModel(["ADD: Search cabinets for cups and mugs."])
    counts = asyncio.run(distill_insights(memory, model))
    assert counts["added"] == 1 and len(model.requests) == 1
    prompt = model.requests[0].messages[-1]["content"]
    assert "(none yet)" in prompt and "put a mug in the sink" in prompt and "put a cup in the sink" in prompt
    assert memory.store.list("insight")[0].sources == [1, 2]
    assert asyncio.run(distill_insights(memory, model)) == {} and len(model.requests) == 1  # compared once only


def test_concepts_count_where_objects_were_seen_and_the_model_adds_its_own():
    memory = _memory()
    _trajectory(memory, "a", True, "On the countertop 1, you see a mug 1, and a knife 2.")
    _trajectory(memory, "b", False, "You open the cabinet 3. The cabinet 3 is open. In it, you see a mug 2.")
    _trajectory(memory, "c", True, "On the countertop 2, you see a mug 3.")
    assert location_concepts(memory) == 1  # the knife was seen once: below min_support
    concept = memory.store.list("concept")[0]
    assert concept.name == "where to find a mug" and concept.support == 3
    assert concept.text == "a mug was seen in/on the countertop (2x), the cabinet (1x)"
    assert location_concepts(memory) == 0  # nothing new
    model = ScriptedModel(["CONCEPT sink: cleans objects placed in it.\nnot a concept"])
    made = asyncio.run(distill_concepts(memory, model, env="alfworld"))
    assert [c.name for c in made] == ["sink"] and memory.store.count("concept") == 2


def test_an_echo_of_every_operation_is_cut_to_three_and_a_repeated_concept_is_merged():
    echo = "ADD: Follow the instructions.\nEDIT 1: x\nUPVOTE 1\nDOWNVOTE 1\nREMOVE 1"
    assert [o.op for o in parse_operations(echo, 1)] == ["ADD", "EDIT", "UPVOTE"]
    memory = _memory()
    _trajectory(memory, "a", True)
    model = ScriptedModel(default="CONCEPT fruit bowl: fruit is kept in the fruit bowl.")
    asyncio.run(distill_concepts(memory, model, env="alfworld"))
    model = ScriptedModel(default="CONCEPT the fruit bowl: fruit is kept in the fruit bowl.")
    asyncio.run(distill_concepts(memory, model, env="alfworld"))
    concepts = memory.store.list("concept")
    assert len(concepts) == 1 and concepts[0].support == 2 and concepts[0].name == "fruit bowl"


def test_copied_placeholders_are_ignored_and_an_edit_into_a_twin_merges_the_two():
    assert parse_concepts("CONCEPT <the thing the fact is about>: <the fact, one sentence>\nCONCEPT sink: cleans") \
        == [("sink", "cleans")]
    assert [o.op for o in parse_operations("ADD: <a new rule>\nEDIT 1: <better wording>\nUPVOTE 1", 1)] == ["UPVOTE"]
    memory = _memory()
    rules = _rules(memory, "Do what Simon says, nothing else.", "Answer quickly.")
    rules[0].strength = 3
    memory.add(rules[0])
    counts = apply_operations(memory, parse_operations("EDIT 2: Do what Simon says, nothing else.", 2), rules,
                              sources=[7])
    left = memory.store.list("insight")
    assert counts["merged"] == 1 and len(left) == 1
    assert left[0].strength == 3 + 3 and left[0].sources == [7]  # its own 3; the edited one: 2 to start, +1 for the edit
    assert [h["op"] for h in left[0].history] == ["edit", "merge"] and left[0].history[0]["old"] == "Answer quickly."
