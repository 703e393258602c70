"""The runs screen: start an evaluation, watch its episodes finish, replay any of them step by step; or open
an existing run folder, followed as it grows.

A run started here is ``run_eval`` in a worker; what the table shows is read back from the run's
``episodes.jsonl`` (``JsonlFollower``, twice a second), the same for a run started here, one started by
``agentkit eval`` in another terminal, or one finished long ago.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from agentkit.errors import AgentkitError
from agentkit.tui.follow import JsonlFollower
from agentkit.tui.widgets.episodes import EpisodeTable

__all__ = ["RunsScreen", "StartRunScreen", "replay_text"]

FOLLOW_SECONDS = 0.5
_FIELDS = (("env", "environment or task", "twx"), ("split", "split (empty: the default)", ""),
           ("limit", "episodes", "5"), ("workflow", "workflow (empty: react, or cot for a task)", ""),
           ("model", "model spec", ""), ("concurrency", "episodes at once", "1"),
           ("memory", "memory folder (empty: none)", ""), ("out", "run folder", ""))


def replay_text(record: dict[str, Any], step: int) -> str:
    """What the replay pane shows at ``step`` (0 is the opening): the task, then each step so far.

    Example:
        >>> r = {"task_id": "t1", "task": "find the coin", "opening": "A hall.",
        ...      "trajectory": [{"thought": "look", "action": "open door", "observation": "A room.", "valid": True}]}
        >>> print(replay_text(r, 1))
        t1: find the coin
        <BLANKLINE>
        A hall.
        <BLANKLINE>
        step 1/1
          thought: look
          action: open door
          observation: A room.
    """
    lines = [f"{record.get('task_id')}: {record.get('task', '')}", "", str(record.get("opening", "")).strip()]
    trajectory = record.get("trajectory") or []
    for i, s in enumerate(trajectory[:step], 1):
        lines += ["", f"step {i}/{len(trajectory)}" + ("" if s.get("valid", True) else "  (invalid action)")]
        if s.get("thought"):
            lines.append(f"  thought: {s['thought']}")
        lines.append(f"  action: {s.get('action')}")
        lines.append(f"  observation: {s.get('observation', '')}")
    if step >= len(trajectory):
        end = "won" if record.get("won") else "lost"
        why = record.get("error") or record.get("stop_reason")
        if step > len(trajectory) or not trajectory:
            lines += ["", f"{end}, reward {record.get('reward', 0)}" + (f" ({why})" if why else "")]
    return "\n".join(lines)


class StartRunScreen(ModalScreen[dict[str, str] | None]):
    """The settings of an evaluation to start; Enter on the last field (or Start) starts it."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close", id="start.close")]

    def __init__(self, defaults: dict[str, str]) -> None:
        super().__init__()
        self.defaults = defaults

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label("Start an evaluation", classes="dialog-title")
            for name, label, value in _FIELDS:
                yield Label(label, classes="field-label")
                yield Input(self.defaults.get(name, value), id=f"run-{name}")
            yield Button("Start", id="start", variant="primary")

    def values(self) -> dict[str, str]:
        return {name: self.query_one(f"#run-{name}", Input).value.strip() for name, _, _ in _FIELDS}

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == f"run-{_FIELDS[-1][0]}":
            self.dismiss(self.values())
        else:
            self.focus_next()

    def on_button_pressed(self) -> None:
        self.dismiss(self.values())

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class RunsScreen(Screen[None]):
    """Episodes of one run folder: a table, the running success rate, and the replay of the selected one."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="runs.close"),
        Binding("ctrl+s", "start", "Start a run", id="runs.start"),
        Binding("ctrl+o", "open", "Open a folder", id="runs.open"),
        Binding("left_square_bracket", "step(-1)", "Step back", id="runs.prev"),
        Binding("right_square_bracket", "step(1)", "Step on", id="runs.next"),
    ]

    def __init__(self, folder: str | Path | None = None) -> None:
        super().__init__()
        self.folder: Path | None = Path(folder) if folder is not None else None
        self.follower: JsonlFollower | None = None
        self.records: list[dict[str, Any]] = []
        self.running: set[str] = set()
        self.step = 0
        self.worker: Any = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("No run yet: ctrl+s starts one, ctrl+o opens a run folder.", id="run-summary")
        with Horizontal(id="run-main"):
            yield EpisodeTable(id="episodes")
            with Vertical(id="replay"):
                yield Static("", id="replay-text", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(FOLLOW_SECONDS, self.follow)
        if self.folder is not None:
            self.open_folder(self.folder)

    # --- a folder --------------------------------------------------------------------------------------
    def open_folder(self, folder: str | Path) -> None:
        folder = Path(folder).expanduser()
        path = folder / "episodes.jsonl" if folder.is_dir() or not folder.suffix else folder
        if not path.exists() and not folder.is_dir():
            self.notify(f"No run at {folder}: a run folder holds episodes.jsonl.", severity="error", timeout=10)
            return
        self.folder = path.parent
        self.follower = JsonlFollower(path)
        self.records = []
        self.running.clear()
        self.query_one(EpisodeTable).clear()
        self.follow()

    def follow(self) -> None:
        """Add the episodes written since the last look."""
        if self.follower is None:
            return
        new = self.follower.read()
        if new:
            self.records += new
            self.query_one(EpisodeTable).add(new)
            for r in new:
                self.running.discard(str(r.get("task_id")))
        self._summary()

    def _summary(self) -> None:
        n = len(self.records)
        won = sum(bool(r.get("won")) for r in self.records)
        errors = sum(bool(r.get("error")) for r in self.records)
        rate = f"{won / n:.0%}" if n else "-"
        parts = [f"{self.folder}", f"{n} episodes", f"{won} won ({rate})"]
        if errors:
            parts.append(f"[red]{errors} errors[/]")
        if self.running:
            parts.append(f"running: {', '.join(sorted(self.running))}")
        if self.follower is not None and self.follower.bad:
            parts.append(f"[yellow]{self.follower.bad} unreadable lines skipped[/]")
        self.query_one("#run-summary", Static).update(" · ".join(parts))

    # --- replay ----------------------------------------------------------------------------------------
    def on_episode_table_highlighted(self, event: EpisodeTable.Highlighted) -> None:
        self.step = 0
        self._replay()

    def selected(self) -> dict[str, Any] | None:
        table = self.query_one(EpisodeTable)
        return self.records[table.cursor] if table.cursor < len(self.records) else None

    def action_step(self, delta: int) -> None:
        record = self.selected()
        if record is None:
            return
        last = len(record.get("trajectory") or []) + 1
        self.step = max(0, min(last, self.step + delta))
        self._replay()

    def _replay(self) -> None:
        record = self.selected()
        if record is not None:
            self.query_one("#replay-text", Static).update(replay_text(record, self.step))

    # --- starting --------------------------------------------------------------------------------------
    def action_open(self) -> None:
        from agentkit.tui.screens.dialogs import PickScreen

        def chosen(folder: str | None) -> None:
            if folder:
                self.open_folder(folder)

        runs = sorted((p.parent.as_posix() for p in Path("runs").glob("*/episodes.jsonl")), reverse=True)
        self.app.push_screen(PickScreen("Open a run folder", str(self.folder or ""), runs[:50],
                                        "a folder with episodes.jsonl (agentkit eval --out FOLDER)"), chosen)

    def action_start(self) -> None:
        if self.worker is not None and self.worker.is_running:
            self.notify("A run is going; it must end first.", severity="warning")
            return
        app: Any = self.app
        defaults = {"model": app.model_spec, "out": f"runs/tui-{time.strftime('%Y%m%d-%H%M%S')}"}

        def chosen(values: dict[str, str] | None) -> None:
            if values:
                self.worker = self.start(values)

        self.app.push_screen(StartRunScreen(defaults), chosen)

    @work(group="eval", exclusive=True, exit_on_error=False)
    async def start(self, values: dict[str, str]) -> None:
        from agentkit.experiments import EvalConfig, run_eval
        from agentkit.experiments.events import EpisodeStarted

        try:
            config = EvalConfig(**_config(values))
        except (AgentkitError, TypeError, ValueError) as e:
            self.notify(str(e), title="Cannot start the run", severity="error", timeout=15)
            return
        out = Path(values["out"] or f"runs/tui-{time.strftime('%Y%m%d-%H%M%S')}")
        if (out / "episodes.jsonl").exists():  # resume it
            self.open_folder(out)
        else:
            self._watch(out)

        def on_event(task_id: str | None, event: Any) -> None:
            if isinstance(event, EpisodeStarted):
                self.running.add(event.task_id)

        try:
            result = await run_eval(config, out=out, resume=(out / "episodes.jsonl").exists(), on_event=on_event)
        except AgentkitError as e:
            self.notify(f"{e} (finished episodes are kept in {out})", title="The run stopped", severity="error",
                        timeout=20)
        else:
            self.notify(f"Run finished: {sum(r.won for r in result.records)} of {len(result.records)} won.")
        finally:
            self.running.clear()
            self.follow()

    def _watch(self, out: Path) -> None:
        self.folder = out
        self.follower = JsonlFollower(out / "episodes.jsonl")
        self.records = []
        self.query_one(EpisodeTable).clear()


def _config(values: dict[str, str]) -> dict[str, Any]:
    """``EvalConfig`` keywords from the form (empty fields left to their defaults)."""
    out: dict[str, Any] = {}
    target = values.get("env", "")
    if target.startswith("task:"):
        out["task"] = target.removeprefix("task:")
    elif target in ("gsm8k", "game24", "arithmetic"):
        out["task"] = target
    elif target:
        out["env"] = target
    for name in ("split", "workflow", "model", "memory"):
        if values.get(name):
            out[name] = values[name]
    for name in ("limit", "concurrency"):
        if values.get(name):
            try:
                out[name] = int(values[name])
            except ValueError:
                raise ValueError(f"{name} must be a whole number, not {values[name]!r}.") from None
    return out
