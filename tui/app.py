"""``agentkit tui``: chat with a model through any workflow, watch its reasoning live, see what memory gave.

The app holds what every screen shares: the chat history (``ChatStore``), the model (loaded once, on first
use), the workflow, the run's limits and the experience memory. Screens draw; the library runs.

Keys are bindings with ids; ``$AGENTKIT_CONFIG/tui.toml`` (default ``~/.config/agentkit/tui.toml``) remaps
them::

    [keys]
    "chat.cancel" = "ctrl+c"
    "app.keys" = "f2"

Example (headless, as the tests drive it):
    >>> import asyncio
    >>> async def chat():
    ...     app = AgentkitApp(model="scripted:It is **4**.", history=":memory:")
    ...     async with app.run_test() as pilot:
    ...         await pilot.press(*"2+2?", "enter")
    ...         await app.workers.wait_for_complete()
    ...         return [m.content for m in app.store.messages(1)]
    >>> asyncio.run(chat())
    ['2+2?', 'It is **4**.']
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from agentkit.context import RunContext
from agentkit.errors import UserError
from agentkit.limits import Limits
from agentkit.paths import data_dir
from agentkit.tui.chat import WORKFLOW_NAMES, WorkflowChoice, parse_workflow
from agentkit.tui.screens.chat import ChatScreen
from agentkit.tui.screens.dialogs import KeysScreen, PickScreen
from agentkit.tui.screens.history import HistoryScreen
from agentkit.tui.store import ChatStore

__all__ = ["AgentkitApp", "config_path", "default_history"]

MODEL_CHOICES = ["qwen-1.5b", "qwen-0.5b", "openai:http://127.0.0.1:8000/v1#MODEL", "litellm:ollama/qwen2.5:1.5b",
                 "vllm:Qwen/Qwen2.5-1.5B-Instruct"]


def default_history() -> Path:
    return data_dir() / "chats.sqlite"


def config_path() -> Path:
    base = os.environ.get("AGENTKIT_CONFIG") or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "agentkit"
    return Path(base).expanduser() / "tui.toml"


class Commands(Provider):
    """The command palette (Ctrl+P): every action the app has, by name."""

    def _commands(self) -> Iterator[tuple[str, Any, str]]:
        app: Any = self.app
        yield "Model: pick the model", app.action_pick_model, f"now {app.model_spec}"
        yield "Workflow: pick the workflow and its options", app.action_pick_workflow, f"now {app.workflow}"
        for name in WORKFLOW_NAMES:
            yield f"Workflow: {name}", partial(app.set_workflow, name), "with its default options"
        yield "Chat: new conversation", partial(app.chat_action, "new_chat"), "Ctrl+N"
        yield "Chat: history and search", app.action_history, "reopen or search earlier conversations"
        yield "Chat: cancel the running turn", partial(app.chat_action, "cancel"), "Esc"
        yield "Chat: retry the last message", partial(app.chat_action, "retry"), "Ctrl+R"
        yield "Chat: copy the last answer", partial(app.chat_action, "copy_answer"), "Ctrl+G"
        yield "Chat: export as Markdown", partial(app.export, "md"), "Ctrl+S, into the data folder"
        yield "Chat: export as JSONL", partial(app.export, "jsonl"), "messages with their events"
        yield "Memory: browse, search, pin and delete records", app.action_memory, "F2"
        yield "Runs: start an evaluation or open a run folder", app.action_runs, "F3"
        yield "Keys: list every binding", app.action_keys, "F1"

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            if (score := matcher.match(name)) > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


class AgentkitApp(App[None]):
    """The terminal UI.

    Args:
        model: a model spec (``qwen-0.5b``, ``openai:URL#NAME``, ``litellm:...``, ``vllm:...``, ``scripted:...``;
            default ``$AGENTKIT_MODEL``, else ``qwen-1.5b``) or a ``Model`` object.
        workflow: ``NAME [key=value ...]`` or a ``WorkflowChoice``.
        history: the chat history file (``":memory:"`` keeps nothing).
        memory: an experience memory folder (or ``Memory``) to recall from and browse (none by default).
        limits: each turn's budget.
        max_tokens: generation limit per model call.
        keymap: the key remapping file (default ``config_path()``).
    """

    CSS_PATH = "app.tcss"
    TITLE = "agentkit"
    COMMANDS = App.COMMANDS | {Commands}
    BINDINGS = [
        Binding("f1", "keys", "Keys", id="app.keys"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("ctrl+s", "export('md')", "Export", id="app.export"),
        Binding("f2", "memory", "Memory", id="app.memory"),
        Binding("f3", "runs", "Runs", id="app.runs"),
    ]

    def __init__(self, *, model: str | Any = None, workflow: str | WorkflowChoice = "cot",
                 history: str | Path | None = None, memory: str | Path | Any = None,
                 limits: Limits | None = None, max_tokens: int = 512, keymap: str | Path | None = None) -> None:
        super().__init__()
        from agentkit.models.base import Model
        from agentkit.models.registry import default_spec

        self._models: dict[str, Any] = {}
        if isinstance(model, Model):  # a model object (from Python): used as it is
            self.model_spec = model.name
            self._models[model.name] = model
        else:
            self.model_spec = model or default_spec()
        self.workflow = workflow if isinstance(workflow, WorkflowChoice) else parse_workflow(workflow)
        self.store = ChatStore(history if history is not None else default_history())
        self.memory_path = memory
        self.memory: Any = None
        self.limits = limits or Limits()
        self.max_tokens = max_tokens
        self.keymap_path = Path(keymap) if keymap is not None else config_path()
        self._keymap: dict[str, str] = {}  # binding id -> keys, from the keymap file
        #: the seconds a run has taken, as the usage bar shows them (snapshot tests fix it)
        self.clock: Any = lambda ctx: ctx.elapsed
        self._graphs: dict[str, Any] = {}
        if isinstance(memory, str | Path):
            from agentkit.memory import Memory

            self.memory = Memory(memory)
        elif memory is not None:  # a Memory object (from Python)
            self.memory = memory

    def on_mount(self) -> None:
        self._load_keymap()
        self.push_screen(ChatScreen())
        self.call_after_refresh(_quiet_gc)
        self.sub_title = f"{self.model_spec} · {self.workflow}"
        if self.store.interrupted:
            self.notify(f"{self.store.interrupted} answer(s) were being written when the app last stopped; they "
                        "are kept, marked interrupted.", severity="warning", timeout=10)

    async def on_unmount(self) -> None:
        for model in self._models.values():
            await model.aclose()
        self.store.close()
        if self.memory is not None:
            self.memory.close()

    # --- what screens share ------------------------------------------------------------------------------
    async def get_model(self) -> Any:
        """The model, loaded on first use. The embedded model leaves one core to the UI."""
        if self.model_spec not in self._models:
            from agentkit.models.registry import load_model

            model = load_model(self.model_spec)
            if getattr(model, "backend", "") == "llamacpp" and "n_threads" not in self.model_spec:
                model.n_threads = max(1, (os.cpu_count() or 2) - 1)
            self.notify(f"Loading {self.model_spec}…", timeout=3)
            await model.load()
            self._models[self.model_spec] = model
        return self._models[self.model_spec]

    def graph(self) -> Any:
        """The workflow's compiled graph (built once per choice). A bad name or option raises ``UserError``."""
        key = str(self.workflow)
        if key not in self._graphs:
            from agentkit.workflows.registry import build_workflow

            try:
                self._graphs[key] = build_workflow(self.workflow.name, **self.workflow.options)
            except UserError:
                raise
            except Exception as e:  # a user's module:function that fails to import or to build
                raise UserError(f"Workflow {self.workflow.name!r} could not be built: {type(e).__name__}: {e}") from None
        return self._graphs[key]

    def run_context(self, model: Any) -> RunContext:
        return RunContext(model, max_tokens=self.max_tokens, limits=self.limits, memory=self.memory)

    def memory_text(self, record_id: int) -> str | None:
        record = self.memory.get(record_id) if self.memory is not None else None
        if record is None:
            return None
        data = dataclasses.asdict(record) if dataclasses.is_dataclass(record) else dict(record)
        return json.dumps(data, indent=1, default=str, ensure_ascii=False)

    @property
    def chat(self) -> ChatScreen:
        return next(s for s in self.screen_stack if isinstance(s, ChatScreen))

    def chat_action(self, name: str) -> None:
        getattr(self.chat, f"action_{name}")()

    # --- pickers -----------------------------------------------------------------------------------------
    def action_pick_model(self) -> None:
        def chosen(spec: str | None) -> None:
            if spec and spec != self.model_spec:
                self.model_spec = spec
                self.sub_title = f"{self.model_spec} · {self.workflow}"
                self.notify(f"Model: {spec} (loaded when the next message is sent)")

        self.push_screen(PickScreen("Model", self.model_spec, MODEL_CHOICES,
                                    "any spec: qwen-0.5b, llamacpp:PATH.gguf, openai:URL#NAME, litellm:..., vllm:..."),
                         chosen)

    def action_pick_workflow(self) -> None:
        def chosen(text: str | None) -> None:
            if text:
                self.set_workflow(text)

        self.push_screen(PickScreen("Workflow", str(self.workflow), list(WORKFLOW_NAMES),
                                    "NAME [key=value ...], e.g. `sc n=5`, `tot algo=beam width=3`, `mypkg.flows:build`"),
                         chosen)

    def set_workflow(self, text: str) -> None:
        try:
            choice = parse_workflow(text)
            from agentkit.workflows.registry import check_options, get_builder

            get_builder(choice.name)
            check_options(choice.name, choice.options)
        except UserError as e:
            self.notify(str(e), title="Workflow not changed", severity="error", timeout=10)
            return
        except Exception as e:  # importing a user's module:function
            self.notify(f"{type(e).__name__}: {e}", title="Workflow not changed", severity="error", timeout=10)
            return
        self.workflow = choice
        self.sub_title = f"{self.model_spec} · {self.workflow}"
        self.notify(f"Workflow: {choice}")

    def action_history(self) -> None:
        def chosen(conversation: int | None) -> None:
            if conversation is not None:
                self.run_worker(self.chat.open_conversation(conversation), group="open", exclusive=True)

        self.push_screen(HistoryScreen(self.store), chosen)

    def action_memory(self) -> None:
        if self.memory is None:
            self.notify("No memory attached: start with agentkit tui --memory FOLDER.", severity="warning")
            return
        from agentkit.tui.screens.memory import MemoryScreen

        if not isinstance(self.screen, MemoryScreen):
            self.push_screen(MemoryScreen(self.memory))

    def action_runs(self) -> None:
        from agentkit.tui.screens.runs import RunsScreen

        if not isinstance(self.screen, RunsScreen):
            self.push_screen(RunsScreen())

    def action_keys(self) -> None:
        rows = []
        from agentkit.tui.screens.memory import ConfirmScreen, MemoryScreen
        from agentkit.tui.screens.runs import RunsScreen

        for screen_class in (type(self), ChatScreen, HistoryScreen, MemoryScreen, RunsScreen, PickScreen,
                             ConfirmScreen, KeysScreen):
            for b in screen_class.BINDINGS:
                if isinstance(b, Binding) and b.id:
                    keys = self._keymap.get(b.id, b.key)
                    rows.append((b.id, keys, b.description))
        self.push_screen(KeysScreen(rows, str(self.keymap_path)))

    def export(self, kind: str) -> None:
        conversation = self.chat.conversation
        if conversation is None:
            self.notify("Nothing to export yet.")
            return
        folder = data_dir() / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"chat-{conversation}.{kind}"
        text = self.store.export_markdown(conversation) if kind == "md" else self.store.export_jsonl(conversation)
        path.write_text(text, encoding="utf-8")
        self.notify(f"Exported to {path}")

    def action_export(self, kind: str = "md") -> None:
        self.export(kind)

    # --- keys --------------------------------------------------------------------------------------------
    def _load_keymap(self) -> None:
        if not self.keymap_path.is_file():
            return
        try:
            keys = tomllib.loads(self.keymap_path.read_text(encoding="utf-8")).get("keys", {})
        except (tomllib.TOMLDecodeError, OSError) as e:
            self.notify(f"{self.keymap_path}: {e}; the default keys are used.", severity="error", timeout=10)
            return
        if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
            self.notify(f"{self.keymap_path}: [keys] maps binding ids to keys, e.g. \"chat.cancel\" = \"ctrl+c\".",
                        severity="error", timeout=10)
            return
        self._keymap = dict(keys)
        self.set_keymap(self._keymap)


def _quiet_gc() -> None:
    """Keep garbage collection from stalling the UI: what exists by now (Textual, the library, the screen)
    is frozen out of the collector's scans, so a full collection walks only what runs create. Measured in
    ``benchmarks/tui_latency.py``: full collections while an answer streamed stalled the event loop 75-90 ms
    every second or two before this (see also ``ChatScreen.run_turn``, which holds them off during a turn)."""
    import gc

    gc.collect()
    gc.freeze()
