"""The ALFWorld notebook on observations as the engine writes them (taken from expert games)."""

from agentkit.envs.alfworld_notes import AlfWorldNotes, parse_goal

ROOM = ("You are in the middle of a room. Looking quickly around you, you see a cabinet 2, a cabinet 1, a "
        "countertop 1, a fridge 1, a microwave 1, a sinkbasin 1, and a stoveburner 1.\n\nYour task is to: {task}")


def _play(task, moves):
    notes = AlfWorldNotes()
    n = notes.start(task, ROOM.format(task=task))
    for action, observation in moves:
        n = notes.update(n, action, observation)
    return notes, n


def test_every_alfworld_goal_template_is_recognised():
    cases = {"put a mug in cabinet.": ("place", "mug", "cabinet"),
             "put some spraybottle on toilet.": ("place", "spraybottle", "toilet"),
             "put a clean cloth in drawer.": ("clean", "cloth", "drawer"),
             "clean some apple and put it in fridge.": ("clean", "apple", "fridge"),
             "put a hot cup in shelf.": ("heat", "cup", "shelf"),
             "heat some egg and put it in garbagecan.": ("heat", "egg", "garbagecan"),
             "put a cool pot in countertop.": ("cool", "pot", "countertop"),
             "cool some pot and put it in countertop.": ("cool", "pot", "countertop"),
             "put two cd in drawer.": ("two", "cd", "drawer"),
             "find two box and put them in coffeetable.": ("two", "box", "coffeetable"),
             "look at bowl under the desklamp.": ("look", "bowl", "desklamp"),
             "examine the cd with the desklamp.": ("look", "cd", "desklamp")}
    for task, (kind, obj, target) in cases.items():
        assert parse_goal(task) == {"kind": kind, "object": obj, "target": target}, task
    assert parse_goal("dance a jig.") is None


def test_a_cool_then_place_game_is_tracked_step_by_step():
    task = "cool some pot and put it in countertop."
    notes, n = _play(task, [
        ("go to stoveburner 1", "You arrive at loc 10. On the stoveburner 1, you see a pot 1."),
        ("go to cabinet 1", "You arrive at loc 3. The cabinet 1 is closed."),
    ])
    text = notes.render(n)
    assert "at cabinet 1, holding nothing" in text and "Seen pot at: stoveburner 1 (pot 1)" in text
    assert "take a pot; cool the pot (with a fridge); put the pot in/on a countertop" in text
    assert "Not searched yet: cabinet 2, countertop 1, fridge 1, microwave 1, sinkbasin 1" in text
    assert "Closed, not looked inside: cabinet 1" in text
    notes, n = _play(task, [
        ("go to stoveburner 1", "You arrive at loc 10. On the stoveburner 1, you see a pot 1."),
        ("take pot 1 from stoveburner 1", "You pick up the pot 1 from the stoveburner 1."),
        ("go to fridge 1", "You arrive at loc 25. The fridge 1 is closed."),
        ("cool pot 1 with fridge 1", "You cool the pot 1 using the fridge 1."),
    ])
    text = notes.render(n)
    assert "holding pot 1 (cooled)" in text and "still needs: put the pot in/on a countertop." in text
    assert n["contents"]["stoveburner 1"] == [] and "Seen pot" not in text
    n = notes.update(n, "move pot 1 to countertop 1", "You put the pot 1 in/on the countertop 1.")
    assert n["placed"] == ["pot 1"] and "still needs" not in notes.render(n) and n["holding"] is None


def test_opening_a_receptacle_records_what_is_inside_and_failures_change_nothing():
    notes, n = _play("put two cd in cabinet.", [
        ("go to cabinet 1", "You arrive at loc 3. The cabinet 1 is closed."),
        ("open cabinet 1", "You open the cabinet 1. The cabinet 1 is open. In it, you see a cd 1, and a pen 2."),
        ("take cd 9 from cabinet 1", "Nothing happens."),
    ])
    assert n["contents"]["cabinet 1"] == ["cd 1", "pen 2"] and n["closed"] == [] and n["holding"] is None
    n = notes.update(n, "take cd 1 from cabinet 1", "You pick up the cd 1 from the cabinet 1.")
    n = notes.update(n, "move cd 1 to cabinet 1", "You put the cd 1 in/on the cabinet 1.")
    text = notes.render(n)
    assert "take another cd; put the cd in/on a cabinet (1 of 2 there)" in text
    assert "Seen cd" not in text  # the one in the target does not count as a second


def test_a_look_goal_needs_the_object_in_hand_and_the_lamp_on():
    notes, n = _play("examine the cd with the desklamp.", [
        ("go to sidetable 1", "You arrive at loc 20. On the sidetable 1, you see a cd 1, and a desklamp 1."),
    ])
    assert "take a cd; use a desklamp while holding it" in notes.render(n)
    n = notes.update(n, "take cd 1 from sidetable 1", "You pick up the cd 1 from the sidetable 1.")
    assert "still needs: use a desklamp while holding it" in notes.render(n)
    n = notes.update(n, "use desklamp 1", "You turn on the desklamp 1.")
    assert "still needs" not in notes.render(n)


def test_holding_the_wrong_thing_means_putting_it_down_first():
    notes, n = _play("put a book in desk.", [
        ("go to desk 1", "You arrive at loc 10. On the desk 1, you see a alarmclock 1."),
        ("take alarmclock 1 from desk 1", "You pick up the alarmclock 1 from the desk 1."),
    ])
    assert "still needs: put down the alarmclock 1 (you can carry one thing at a time); take a book" in notes.render(n)


def test_the_thought_says_what_to_do_next_and_where():
    task = "put a clean apple in fridge."
    notes, n = _play(task, [])
    assert notes.thought(n) == "Next I must take a apple. I have not seen one yet: search cabinet 2 or cabinet 1."
    n = notes.update(n, "go to cabinet 2", "You arrive at loc 1. The cabinet 2 is closed.")
    assert notes.thought(n).endswith("The cabinet 2 is closed: open it and look inside.")
    n = notes.update(n, "open cabinet 2", "You open the cabinet 2. The cabinet 2 is open. In it, you see a apple 1.")
    assert notes.thought(n).endswith("There is apple 1 here at cabinet 2: take it.")
    n = notes.update(n, "go to countertop 1", "You arrive at loc 2. On the countertop 1, you see nothing.")
    assert notes.thought(n).endswith("I saw one at cabinet 2: go there.")
    n = notes.update(n, "take apple 1 from cabinet 2", "You pick up the apple 1 from the cabinet 2.")
    assert notes.thought(n) == "Next I must clean the apple (with a sinkbasin): go to a sinkbasin."
    n = notes.update(n, "go to sinkbasin 1", "You arrive at loc 4. On the sinkbasin 1, you see nothing.")
    assert notes.thought(n).endswith("I am at sinkbasin 1: do it here.")
    n = notes.update(n, "clean apple 1 with sinkbasin 1", "You clean the apple 1 using the sinkbasin 1.")
    n = notes.update(n, "go to fridge 1", "You arrive at loc 5. The fridge 1 is closed.")
    assert notes.thought(n).endswith("I am at fridge 1, which is closed: open it first.")


def test_places_are_searched_in_the_order_the_model_ranks_them():
    import asyncio

    from agentkit.context import RunContext
    from agentkit.models.testing import ScriptedModel
    from agentkit.workflows.react_nodes import _ranked

    notes = AlfWorldNotes()
    n = notes.start("put a clean apple in fridge.", ROOM.format(task="put a clean apple in fridge."))
    question, answers = notes.search_question(n)
    assert "apple" in question and answers == ["The cabinet", "The countertop", "The fridge", "The microwave",
                                               "The sinkbasin", "The stoveburner"]
    model = ScriptedModel(scorer=lambda chat, text: {"The countertop": -0.1, "The fridge": -1.0}.get(text, -5.0))
    ranked = asyncio.run(_ranked(RunContext(model), notes, n))
    assert ranked["order"][:2] == ["countertop", "fridge"]
    assert notes.thought(ranked).endswith("search countertop 1 or fridge 1.")
    assert notes.thought(n).endswith("search cabinet 2 or cabinet 1.")  # unranked: the room's own order
