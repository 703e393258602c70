"""The other screens, driven headless: the recalled-memory panel and the memory screen (search, pin, delete,
kept across a restart), the runs screen (a 10,000-line run opened, a growing run followed with a torn last
line, a run started and replayed step by step), the keys list and the command palette."""

import asyncio
import json

import pytest

pytest.importorskip("textual")

from textual.widgets import DataTable

from agentkit.memory.embed import HashEmbedder
from agentkit.memory.experience import Memory
from agentkit.memory.records import Insight, Reflection, TrajectoryRecord
from agentkit.models.testing import ScriptedModel
from agentkit.tui.app import AgentkitApp
from agentkit.tui.screens.memory import MemoryScreen
from agentkit.tui.screens.runs import RunsScreen
from agentkit.tui.widgets.composer import Composer
from agentkit.tui.widgets.episodes import EpisodeTable
from agentkit.tui.widgets.recalled import RecalledPanel

SIZE = (110, 34)


def _app(model="scripted:ok", **kwargs):
    kwargs.setdefault("history", ":memory:")
    return AgentkitApp(model=model, keymap=kwargs.pop("keymap", "/nonexistent/tui.toml"), **kwargs)


def _memory(path):
    memory = Memory(path, embedder=HashEmbedder())
    won = memory.add(TrajectoryRecord(task="multiply 17 by 23", env="", won=True,
                                      steps=[{"thought": "use the tool", "action": "calculator[17*23]",
                                              "observation": "391"}]))
    memory.add(Reflection(trajectory_id=won, task="multiply 17 by 23", text="Check the product twice."))
    rule = memory.add(Insight(text="Use the calculator for products of two-digit numbers.", strength=3))
    return memory, rule


def test_the_memory_panel_lists_what_react_recalled_and_opens_a_record(tmp_path):
    memory, rule = _memory(tmp_path / "mem")
    replies = ["Thought: use it.\nAction: calculator[17 * 23]", "Thought: done.\nAction: finish[391]"]

    async def go():
        app = _app(ScriptedModel(replies), workflow="react", memory=memory)
        async with app.run_test(size=SIZE) as pilot:
            app.screen.query_one(Composer).text = "multiply 17 by 23"
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            panel = app.screen.query_one(RecalledPanel)
            assert panel.recalled is not None and panel.recalled.tokens > 0
            ids = {item.id for item in panel.recalled.items}
            assert rule in ids
            table = panel.query_one(DataTable)
            assert table.row_count == len(ids)
            assert "records recalled" in str(panel.query_one("#recalled-summary").render())
            table.focus()
            table.move_cursor(row=[item.id for item in panel.recalled.items].index(rule))
            await pilot.pause()
            assert "Use the calculator" in str(panel.query_one("#recalled-text").render())

    asyncio.run(go())
    memory.close()


def test_the_memory_screen_searches_pins_and_deletes_and_the_changes_survive_a_restart(tmp_path):
    memory, rule = _memory(tmp_path / "mem")

    async def go():
        app = _app(memory=memory)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f2")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, MemoryScreen)
            assert "insight 1" in str(screen.query_one("#memory-stats").render())
            table = screen.query_one(DataTable)
            assert table.row_count == 1
            table.focus()
            await pilot.press("p")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "📌" in str(table.get_row_at(0)[2])
            screen.query_one("#memory-kind").value = "trajectory"
            await app.workers.wait_for_complete()
            screen.query_one("#memory-search").value = "multiply"
            await screen.query_one("#memory-search").action_submit()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert table.row_count == 1 and "multiply 17 by 23" in str(table.get_row_at(0)[2])
            table.focus()
            await pilot.press("delete")
            await pilot.pause()
            await pilot.press("y")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert table.row_count == 0

    asyncio.run(go())
    memory.close()
    again = Memory(tmp_path / "mem", embedder=HashEmbedder())
    assert again.get(rule).pinned and again.store.count("trajectory") == 0
    again.close()


def _episode(i, *, won=None, steps=2):
    trajectory = [{"thought": f"t{j}", "action": f"go {j}", "observation": f"room {j}", "valid": j != 1}
                  for j in range(steps)]
    return {"task_id": f"game-{i}", "task": f"find coin {i}", "opening": "A hall.", "won": i % 3 == 0 if won is None
            else won, "reward": 1.0, "steps": steps, "seconds": 1.5, "trajectory": trajectory}


def test_a_10000_line_run_opens_and_a_growing_run_is_followed_past_a_torn_line(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    path = folder / "episodes.jsonl"
    path.write_text("".join(json.dumps(_episode(i)) + "\n" for i in range(10_000)) + '{"task_id": "game-10000"')

    async def go():
        app = _app()
        async with app.run_test(size=SIZE) as pilot:
            app.push_screen(RunsScreen(folder))
            await pilot.pause()
            screen = app.screen
            table = screen.query_one(EpisodeTable)
            assert table.row_count == 10_000
            assert "3334 won (33%)" in str(screen.query_one("#run-summary").render())
            with path.open("a") as f:  # the writer finishes the torn line, then one more
                f.write(', "won": true, "steps": 0}\n' + json.dumps(_episode(10_001, won=True)) + "\n")
            for _ in range(50):  # the screen looks twice a second
                await pilot.pause(0.1)
                if table.row_count > 10_000:
                    break
            assert table.row_count == 10_002
            assert path.read_text().count("\n") == 10_002  # read, never truncated

    asyncio.run(go())


def test_a_run_started_from_the_screen_fills_the_table_and_an_episode_replays_step_by_step(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "runs" / "r1"

    async def go():
        app = _app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f3")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, RunsScreen)
            worker = screen.start({"env": "arithmetic", "split": "", "limit": "3", "workflow": "cot",
                                   "model": "scripted:Answer: 4", "concurrency": "1", "memory": "", "out": str(out)})
            await worker.wait()
            await pilot.pause()
            table = screen.query_one(EpisodeTable)
            assert table.row_count == 3  # the run's end reads the file once more
            assert "3 episodes" in str(screen.query_one("#run-summary").render())
            table.focus()
            await pilot.pause()
            text = str(screen.query_one("#replay-text").render())
            assert text.startswith(screen.records[0]["task_id"])
            await pilot.press("right_square_bracket", "right_square_bracket")
            await pilot.pause()
            assert "won" in str(screen.query_one("#replay-text").render()) or \
                "lost" in str(screen.query_one("#replay-text").render())
            bad = screen.start({"env": "nowhere", "limit": "x", "out": str(tmp_path / "bad")})
            await bad.wait()
            await pilot.pause()
            assert any("whole number" in n.message for n in app._notifications)

    asyncio.run(go())


def test_f1_lists_every_binding_with_its_id_and_a_keymap_file_remaps_one(tmp_path):
    keymap = tmp_path / "tui.toml"
    keymap.write_text('[keys]\n"app.keys" = "f4"\n')

    async def go():
        app = _app(keymap=keymap)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f1")
            await pilot.pause()
            assert app.screen.__class__.__name__ == "ChatScreen"  # f1 is remapped away
            await pilot.press("f4")
            await pilot.pause()
            table = app.screen.query_one(DataTable)
            rows = [table.get_row_at(i) for i in range(table.row_count)]
            ids = {r[0] for r in rows}
            assert {"app.keys", "chat.cancel", "chat.new", "memory.pin", "runs.start"} <= ids
            assert dict((r[0], r[1]) for r in rows)["app.keys"] == "f4"

    asyncio.run(go())


def test_a_broken_keymap_file_is_reported_and_the_defaults_kept(tmp_path):
    keymap = tmp_path / "tui.toml"
    keymap.write_text("[keys\nnot toml")

    async def go():
        app = _app(keymap=keymap)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert any("default keys are used" in n.message for n in app._notifications)
            await pilot.press("f1")
            await pilot.pause()
            assert app.screen.__class__.__name__ == "KeysScreen"

    asyncio.run(go())


def test_the_command_palette_switches_the_workflow():
    async def go():
        app = _app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"Workflow: mcts")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await pilot.pause()
            assert str(app.workflow) == "mcts"

    asyncio.run(go())


def test_the_history_screen_lists_searches_reopens_and_deletes_conversations(tmp_path):
    history = tmp_path / "chats.sqlite"

    async def go():
        app = _app(ScriptedModel(["Boil it for seven minutes.", "It is 2x."]), history=history)
        async with app.run_test(size=SIZE) as pilot:
            for question in ("How long do I boil an egg?", "What is the derivative of x^2?"):
                app.screen.query_one(Composer).text = question
                await pilot.press("enter")
                await app.workers.wait_for_complete()
                await pilot.press("ctrl+n")
                await app.workers.wait_for_complete()
            await pilot.press("ctrl+o")
            await pilot.pause()
            from textual.widgets import OptionList

            options = app.screen.query_one(OptionList)
            assert options.option_count == 2
            await pilot.press(*"egg")
            await pilot.pause()
            assert options.option_count == 1 and "[egg]" in str(options.get_option_at_index(0).prompt)
            options.focus()
            options.highlighted = 0
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.chat.conversation == 1
            assert [t.text for t in app.screen.query("AnswerTurn")] == ["Boil it for seven minutes."]
            await pilot.press("ctrl+o")
            await pilot.pause()
            options = app.screen.query_one(OptionList)
            options.focus()
            options.highlighted = 0
            await pilot.press("delete")
            await pilot.pause()
            assert options.option_count == 1 and len(app.store.conversations()) == 1

    asyncio.run(go())


def test_the_model_picker_takes_any_spec_and_the_start_form_starts_a_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    async def go():
        app = _app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+l")
            await pilot.pause()
            field = app.screen.query_one("#pick-input")
            field.value = "qwen-0.5b"
            await pilot.press("enter")
            await pilot.pause()
            assert app.model_spec == "qwen-0.5b" and "qwen-0.5b" in app.sub_title
            app.model_spec = "scripted:Answer: 4"
            await pilot.press("f3")
            await pilot.pause()
            await pilot.press("ctrl+s")
            await pilot.pause()
            form = app.screen
            assert form.__class__.__name__ == "StartRunScreen"
            assert form.query_one("#run-model").value == "scripted:Answer: 4"
            form.query_one("#run-env").value = "arithmetic"
            form.query_one("#run-limit").value = "2"
            form.query_one("#run-workflow").value = "cot"
            form.query_one("#run-out").value = "runs/formed"
            form.query_one("#run-out").focus()
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert isinstance(app.screen, RunsScreen) and app.screen.query_one(EpisodeTable).row_count == 2
            assert (tmp_path / "runs" / "formed" / "episodes.jsonl").exists()

    asyncio.run(go())


def test_the_embedded_model_leaves_one_core_to_the_ui(monkeypatch):
    from agentkit.models.llamacpp import LlamaCppModel

    loaded = []

    async def fake_load(self):  # no weights in unit tests: note the threads it would load with
        loaded.append(self.n_threads)

    monkeypatch.setattr(LlamaCppModel, "load", fake_load)
    monkeypatch.setattr("os.cpu_count", lambda: 4)

    async def go():
        app = _app("qwen-0.5b")
        async with app.run_test(size=SIZE):
            await app.get_model()
            app.model_spec = "qwen-0.5b?n_threads=4"
            await app.get_model()

    asyncio.run(go())
    assert loaded == [3, 4]  # an explicit n_threads is kept
