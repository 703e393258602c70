"""The memory screen: browse and search an experience memory, see its stats, delete a record, pin an insight.

Every change goes through the memory's own API (``Memory.delete``, ``Memory.pin``), so it is in the store at
once and survives a restart. Searching embeds the query off the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    Select,
    Static,
)

__all__ = ["ConfirmScreen", "MemoryScreen"]

KINDS = ("trajectory", "reflection", "insight", "concept")
LISTED = 500  # records listed per kind without a query


def _summary(record: Any) -> str:
    kind = record.kind
    if kind == "trajectory":
        return f"{'won' if record.won else 'lost'} · {record.task} ({len(record.steps)} steps, {record.source})"
    if kind == "insight":
        return ("📌 " if record.pinned else "") + f"[{record.strength}] {record.text}"
    if kind == "concept":
        return f"{record.name}: {record.text}"
    return str(getattr(record, "text", record.key))


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no (y / n, Enter on a button)."""

    BINDINGS = [Binding("y", "answer(True)", "Yes", id="confirm.yes"),
                Binding("n,escape", "answer(False)", "No", id="confirm.no")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class MemoryScreen(Screen[None]):
    """The app's experience memory (``app.memory``)."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="memory.close"),
        Binding("slash", "focus_search", "Search", id="memory.search"),
        Binding("p", "pin", "Pin/unpin", id="memory.pin"),
        Binding("delete,ctrl+d", "delete", "Delete", id="memory.delete"),
    ]

    def __init__(self, memory: Any) -> None:
        super().__init__()
        self.memory = memory
        self.records: dict[int, Any] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="memory-stats")
        with Horizontal(id="memory-query"):
            yield Select([(k, k) for k in KINDS], value="insight", allow_blank=False, id="memory-kind")
            yield Input(placeholder="search (nearest by meaning); empty lists the newest", id="memory-search")
        table: DataTable[Any] = DataTable(id="memory-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("id", "score", "record")
        yield table
        yield Static("", id="memory-record", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.show_stats()
        self.refresh_table()

    @property
    def kind(self) -> str:
        return str(self.query_one("#memory-kind", Select).value)

    def show_stats(self) -> None:
        stats = self.memory.stats()
        counts = ", ".join(f"{kind} {n}" for kind, n in stats["records"].items())
        self.query_one("#memory-stats", Static).update(
            f"[b]{stats['path']}[/]  {counts} · trajectories {stats['successes']} won, {stats['failures']} lost · "
            f"embedder {stats['embedder']}")

    @work(exclusive=True, group="memory-search")
    async def refresh_table(self) -> None:
        query, kind = self.query_one("#memory-search", Input).value.strip(), self.kind
        if query:
            hits = await asyncio.to_thread(self.memory.search, query, kind=kind, k=50)
        else:
            newest = sorted(self.memory.store.list(kind), key=lambda r: -(r.id or 0))[:LISTED]
            hits = [(r, None) for r in newest]
        table = self.query_one(DataTable)
        table.clear()
        self.records = {}
        for record, score in hits:
            self.records[record.id] = record
            table.add_row(str(record.id), "-" if score is None else f"{score:.3f}", _summary(record)[:200],
                          key=str(record.id))
        if not hits:
            self.query_one("#memory-record", Static).update(f"No {kind} records" + (f" near {query!r}." if query else "."))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.refresh_table()
        self.query_one(DataTable).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.refresh_table()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        record = self.selected()
        if record is not None:
            data = dataclasses.asdict(record)
            self.query_one("#memory-record", Static).update(json.dumps({"kind": record.kind, **data}, indent=1,
                                                                       ensure_ascii=False, default=str)[:4000])

    def selected(self) -> Any:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.records.get(int(key)) if key is not None else None

    def action_focus_search(self) -> None:
        self.query_one("#memory-search", Input).focus()

    def action_pin(self) -> None:
        record = self.selected()
        if record is None or record.kind != "insight":
            self.notify("Only insights can be pinned: pick the insight kind.", severity="warning")
            return
        try:
            updated = self.memory.pin(record.id, not record.pinned)
        except Exception as e:  # a read-only memory, a record another process deleted
            self.notify(str(e), severity="error", timeout=10)
            return
        self.notify(f"Insight {updated.id} {'pinned' if updated.pinned else 'unpinned'}.")
        self.refresh_table()

    def action_delete(self) -> None:
        record = self.selected()
        if record is None:
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.memory.delete(record.id)
            except Exception as e:  # a read-only memory
                self.notify(str(e), severity="error", timeout=10)
                return
            self.notify(f"Deleted {record.kind} {record.id}.")
            self.show_stats()
            self.refresh_table()

        self.app.push_screen(ConfirmScreen(f"Delete {record.kind} {record.id}? {_summary(record)[:120]}"), answered)
