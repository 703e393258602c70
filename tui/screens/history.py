"""The history: every stored conversation, newest first, and a full-text search over their messages."""

from __future__ import annotations

import time
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

__all__ = ["HistoryScreen"]


class HistoryScreen(ModalScreen[int | None]):
    """Pick a conversation to reopen (Enter); type to search; Esc closes."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close", id="history.close"),
                Binding("delete", "delete", "Delete chat", id="history.delete")]

    def __init__(self, store: Any) -> None:
        super().__init__()
        self.store = store

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Conversations", classes="dialog-title")
            yield Input(placeholder="search every message (full text)", id="history-search")
            yield OptionList(id="history-list")

    def on_mount(self) -> None:
        self.show("")

    def show(self, query: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        if query.strip():
            hits = self.store.search(query)
            options.add_options([Option(f"{h.title}  ·  {h.snippet}", id=f"{h.conversation}:{h.message}")
                                 for h in hits] or [Option("no match", disabled=True)])
        else:
            chats = self.store.conversations()
            options.add_options([Option(f"{c.title}  ·  {c.workflow}  ·  {_when(c.updated)}", id=f"{c.id}:")
                                 for c in chats] or [Option("no conversations yet", disabled=True)])

    def on_input_changed(self, event: Input.Changed) -> None:
        self.show(event.value)

    def on_input_submitted(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(str(event.option.id).split(":")[0]))

    def action_delete(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return
        option = options.get_option_at_index(options.highlighted)
        if option.id:
            self.store.delete_conversation(int(option.id.split(":")[0]))
            self.show(self.query_one(Input).value)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))
