"""Small modal screens: a one-line input with suggestions (the model and workflow pickers) and the key list."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Input, Label, OptionList
from textual.widgets.option_list import Option

__all__ = ["KeysScreen", "PickScreen"]


class PickScreen(ModalScreen[str | None]):
    """Type a value (suggestions complete it with →) or pick one from the list; Enter accepts, Esc closes."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close", id="pick.close")]

    def __init__(self, title: str, value: str, choices: list[str], hint: str = "") -> None:
        super().__init__()
        self.title_text, self.value, self.choices, self.hint = title, value, choices, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(self.value, suggester=SuggestFromList(self.choices, case_sensitive=False), id="pick-input")
            yield OptionList(*[Option(c, id=c) for c in self.choices], id="pick-list")
            if self.hint:
                yield Label(self.hint, classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(event.option.id))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class KeysScreen(ModalScreen[None]):
    """Every binding: its id (what the keymap file remaps), its keys and what it does."""

    BINDINGS = [Binding("escape,f1", "dismiss_none", "Close", id="keys.close")]

    def __init__(self, rows: list[tuple[str, str, str]], config: str) -> None:
        super().__init__()
        self.rows, self.config = rows, config

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Keys", classes="dialog-title")
            table: DataTable[Any] = DataTable(id="keys-table", cursor_type="row")
            table.add_columns("id", "keys", "action")
            for row in self.rows:
                table.add_row(*row)
            yield table
            yield Label(f"Remap in {self.config}, e.g.  [keys]  chat.cancel = \"ctrl+c\"", classes="dialog-hint",
                        markup=False)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
