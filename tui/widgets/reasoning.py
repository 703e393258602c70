"""The live reasoning panel: an agent's steps as they stream, and a search's tree as it grows.

Steps (thoughts, actions, observations, scores, prunes) are lines in a log; an invalid action is flagged.
Tree searches and Graph-of-Thoughts emit ``Expand`` events with ids and parents, so their structure is drawn
from the stream alone: each node shows its step, its state, its value (MCTS's mean value and visit count, updated at every backup), pruned
nodes are dimmed with their reason, and when the run ends the chosen path is highlighted. Selecting a node
shows its full text below the tree.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import RichLog, Static, Tree

from agentkit.events import (
    Action,
    Answer,
    Event,
    Expand,
    Observation,
    Prune,
    Recalled,
    Score,
    Stopped,
    Thought,
)

__all__ = ["ReasoningPanel", "SearchTree", "StepsLog"]

_SHOWN = 160  # characters of a step shown on its line (the whole of it is one selection away)


def _short(text: str, size: int = _SHOWN) -> str:
    line = " ".join(text.split())
    return line if len(line) <= size else line[: size - 1] + "…"


class StepsLog(RichLog):
    """One line per step of the run."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(wrap=True, markup=True, highlight=False, max_lines=5000, min_width=20, **kwargs)
        self.steps = 0

    def add(self, event: Event) -> None:
        line = _line(event)
        if line is not None:
            self.steps += 1
            self.write(line)


def _line(event: Event) -> str | None:
    match event:
        case Thought(node=node, text=text):
            return f"[b cyan]{escape(node)}[/] {escape(_short(text))}"
        case Action(text=text, valid=valid):
            return f"[b]→ {escape(_short(text))}[/]" + ("" if valid else "  [reverse red] invalid [/]")
        case Observation(text=text):
            return f"[green]← {escape(_short(text))}[/]"
        case Score(item=item, value=value, detail=detail):
            return f"[magenta]{value:.2f}[/] {escape(_short(item, 80))}" + (f" [dim]{escape(detail)}[/]" if detail else "")
        case Prune(item=item, reason=reason):
            return f"[dim strike]{escape(_short(item, 80))}[/] [dim]pruned: {escape(reason)}[/]"
        case Stopped(reason=reason):
            return f"[yellow]stopped: {escape(reason)}[/]"
        case Answer(text=text, reason=reason):
            return f"[b green]answer: {escape(text)}[/]" if text is not None else f"[red]no answer: {escape(reason)}[/]"
        case Recalled(items=items, tokens=tokens):
            return f"[blue]recalled {len(items)} records ({tokens} tokens)[/]"
    return None


class SearchTree(Tree[int]):
    """The tree a search grows, keyed by its node ids."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("search", **kwargs)
        self.show_root = False
        self.nodes_by_id: dict[int, Any] = {}
        self.info: dict[int, dict[str, Any]] = {}

    def reset(self) -> None:
        self.clear()
        self.nodes_by_id.clear()
        self.info.clear()

    def add(self, event: Event) -> None:
        if isinstance(event, Expand):
            info = self.info.setdefault(event.id, {})
            info.update(parent=event.parent, text=event.text, action=event.action, value=event.value,
                        reward=event.reward, terminal=event.terminal, sources=event.sources)
            if event.id in self.nodes_by_id:
                self._label(event.id)
                return
            parent = self.nodes_by_id.get(event.parent) if event.parent is not None else None
            node = (parent or self.root).add("", data=event.id, expand=True, allow_expand=False)
            if parent is not None:
                parent.allow_expand = True
            self.nodes_by_id[event.id] = node
            self._label(event.id)
        elif isinstance(event, Score) and event.id is not None and event.id in self.info:
            self.info[event.id]["value"] = event.value
            if event.detail.endswith(" visits"):  # an MCTS backup: the mean value over its visits
                self.info[event.id]["detail"] = event.detail
            self._label(event.id)
        elif isinstance(event, Prune) and event.id is not None and event.id in self.info:
            self.info[event.id]["pruned"] = event.reason
            self._label(event.id)

    def _label(self, node_id: int) -> None:
        info = self.info[node_id]
        label = Text(f"#{node_id} ")
        if info.get("action"):
            label.append(_short(str(info["action"]), 60), style="bold")
            label.append(" → ")
        label.append(_short(str(info.get("text", "")), 80))
        if info.get("value") is not None:
            label.append(f"  {info['value']:.2f}", style="magenta")
        if info.get("reward") is not None:
            label.append(f"  reward {info['reward']:g}", style="green")
        if info.get("detail"):
            label.append(f"  {info['detail']}", style="dim")
        if info.get("pruned"):
            label.stylize("dim strike")
            label.append(f"  pruned: {info['pruned']}", style="dim")
        if info.get("chosen"):
            label.stylize("bold green")
        self.nodes_by_id[node_id].set_label(label)

    def choose(self, state: dict[str, Any]) -> list[int]:
        """Highlight the path to the node the run chose (its solution, the node it completed from, else the
        best-valued finished node); returns the path's ids."""
        for node in state.get("tree") or []:  # MCTS's visit counts, as the search left them
            if isinstance(node, dict) and node.get("visits") and node.get("id") in self.info:
                self.info[node["id"]]["detail"] = f"{node['visits']} visits"
                self._label(node["id"])
        leaf = state.get("solution")
        if leaf is None:
            leaf = state.get("completed_from")
        if leaf is None:
            finished = [i for i, info in self.info.items() if info.get("terminal")]
            leaf = max(finished, key=lambda i: self.info[i].get("value") or 0.0) if finished else None
        path: list[int] = []
        while isinstance(leaf, int) and leaf in self.info and leaf not in path:
            path.append(leaf)
            leaf = self.info[leaf].get("parent")
        for node_id in path:
            self.info[node_id]["chosen"] = True
            self._label(node_id)
        return path[::-1]

    def full_text(self, node_id: int) -> str:
        info = self.info.get(node_id, {})
        parts = [f"node #{node_id}" + (f" (from #{info['parent']})" if info.get("parent") is not None else "")]
        if info.get("action"):
            parts.append(f"step: {info['action']}")
        parts.append(str(info.get("text", "")))
        if info.get("pruned"):
            parts.append(f"pruned: {info['pruned']}")
        return "\n".join(parts)


class ReasoningPanel(Vertical):
    """Steps above, the search tree (shown once a search adds a node) and the selected node's text below."""

    def compose(self) -> ComposeResult:
        yield StepsLog(id="steps")
        yield SearchTree(id="tree", classes="-empty")
        yield Static("", id="node-text", markup=False)

    def reset(self) -> None:
        self.query_one(StepsLog).clear()
        self.query_one(StepsLog).steps = 0
        tree = self.query_one(SearchTree)
        tree.reset()
        tree.add_class("-empty")
        self.query_one("#node-text", Static).update("")

    def add(self, events: list[Event]) -> None:
        steps, tree = self.query_one(StepsLog), self.query_one(SearchTree)
        for event in events:
            steps.add(event)
            tree.add(event)
        if tree.nodes_by_id:
            tree.remove_class("-empty")

    def finish(self, state: dict[str, Any]) -> None:
        tree = self.query_one(SearchTree)
        if tree.nodes_by_id:
            tree.choose(state)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[int]) -> None:
        if event.node.data is not None:
            self.query_one("#node-text", Static).update(self.query_one(SearchTree).full_text(event.node.data))
