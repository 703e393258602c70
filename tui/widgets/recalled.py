"""What the agent was given: the records the experience memory recalled for this turn."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from agentkit.events import Recalled

__all__ = ["RecalledPanel"]


class RecalledPanel(Vertical):
    """A table of the recalled records (id, kind, score, tokens); selecting one shows it in full. ``opener``
    reads a record's text by id (from the store); without a memory the panel says so."""

    def __init__(self, opener: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.opener = opener
        self.recalled: Recalled | None = None

    def compose(self) -> ComposeResult:
        yield Static("No memory attached (agentkit tui --memory PATH)." if self.opener is None else
                     "Nothing recalled yet.", id="recalled-summary")
        table: DataTable[Any] = DataTable(id="recalled-table", cursor_type="row")
        table.add_columns("id", "kind", "score", "tokens")
        yield table
        yield Static("", id="recalled-text", markup=False)

    def reset(self) -> None:
        self.recalled = None
        self.query_one(DataTable).clear()
        self.query_one("#recalled-text", Static).update("")
        if self.opener is not None:
            self.query_one("#recalled-summary", Static).update("Nothing recalled for this turn.")

    def show(self, event: Recalled) -> None:
        self.recalled = event
        table = self.query_one(DataTable)
        table.clear()
        for item in event.items:
            table.add_row(str(item.id), item.kind, "-" if item.score is None else f"{item.score:.2f}",
                          str(item.tokens), key=str(item.id))
        self.query_one("#recalled-summary", Static).update(
            f"{len(event.items)} records recalled, {event.tokens} prompt tokens")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        record_id = int(event.row_key.value)
        text = self.opener(record_id) if self.opener is not None else None
        self.query_one("#recalled-text", Static).update(text or f"record {record_id} is no longer in the memory")
