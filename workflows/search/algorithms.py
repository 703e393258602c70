"""Search algorithms: which nodes of the tree to expand next, and which to drop.

They make no model calls and hold no state of their own: the tree and the frontier live in the graph state
(``Search``), so a checkpointed search resumes exactly. ``build_search`` does the expanding.

* ``BFS``: level by level, every frontier node expanded at once; the ``breadth`` best children (by their
  own value) form the next level (Tree-of-Thoughts BFS).
* ``Beam``: level by level like BFS, but children compete on the aggregate value of their whole path and
  exactly ``width`` survive.
* ``DFS``: best child first; children under ``threshold`` are pruned; a node whose children are all pruned
  is a dead end and the search backtracks to the next node on the stack.
* ``MCTS``: UCT selection from the root, expansion, evaluation of the new children as the simulation, and
  backpropagation; failed finished paths can be reflected on (LATS) and the lessons go into later proposals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from agentkit.errors import UserError
from agentkit.workflows.search.base import TreeNode

__all__ = ["BFS", "DFS", "MCTS", "Algorithm", "Beam", "Search", "make_algorithm"]


@dataclass(slots=True)
class Search:
    """The mutable view of a search the algorithms work on (copied in and out of the graph state)."""

    tree: list[TreeNode]
    frontier: list[int] = field(default_factory=list)
    rounds: int = 0
    pruned: list[tuple[int, str]] = field(default_factory=list)

    def children(self, i: int) -> list[TreeNode]:
        return [self.tree[c] for c in self.tree[i]["children"]]

    def path(self, i: int) -> list[TreeNode]:
        """The nodes from the root to ``i``."""
        out = []
        node: TreeNode | None = self.tree[i]
        while node is not None:
            out.append(node)
            node = None if node["parent"] is None else self.tree[node["parent"]]
        return out[::-1]

    def prune(self, i: int, reason: str) -> None:
        self.pruned.append((i, reason))


def merit(node: TreeNode) -> float:
    """How good a node looks: its exact reward when it has one, else its value."""
    return node["value"] if node["reward"] is None else node["reward"]


class Algorithm:
    """The interface: ``start``, then rounds of ``select`` (ids to expand, expanded concurrently) and
    ``update`` (after the expansions), until ``select`` returns nothing or ``done`` gives a reason.

    Attributes:
        k: actions proposed per expansion.
        max_depth: no node deeper than this is expanded (``None``: the task's own depth).
        reflect: reflect on failed finished paths (LATS); lessons go into later proposals.
    """

    name = "search"
    k: int = 5
    max_depth: int | None = None
    reflect: bool = False

    def start(self, search: Search) -> None:
        search.frontier = [0]

    def select(self, search: Search) -> list[int]:
        raise NotImplementedError

    def update(self, search: Search, expanded: list[int]) -> None:
        raise NotImplementedError

    def done(self, search: Search) -> str | None:
        return None

    def expandable(self, node: TreeNode) -> bool:
        return not node["terminal"] and (self.max_depth is None or node["depth"] < self.max_depth)


class _Levels(Algorithm):
    """Level-synchronous search: expand the whole frontier, keep the best ``keep`` children."""

    def __init__(self, *, keep: int, k: int, max_depth: int | None) -> None:
        if min(keep, k) < 1:
            raise UserError(f"{self.name}: breadth/width and k must be at least 1 (got {keep} and {k}).")
        self.keep, self.k, self.max_depth = keep, k, max_depth

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keep={self.keep}, k={self.k}, max_depth={self.max_depth})"

    def rank(self, search: Search, node: TreeNode) -> float:
        return merit(node)

    def select(self, search: Search) -> list[int]:
        return [i for i in search.frontier if self.expandable(search.tree[i])]

    def update(self, search: Search, expanded: list[int]) -> None:
        children = [c for i in expanded for c in search.children(i)]
        for c in children:
            if c["terminal"] and c["reward"] is not None and c["reward"] <= 0:
                search.prune(c["id"], "finished without solving it")
        alive = [c for c in children if not (c["terminal"] and c["reward"] is not None and c["reward"] <= 0)]
        alive.sort(key=lambda c: self.rank(search, c), reverse=True)
        for c in alive[self.keep:]:
            search.prune(c["id"], f"not among the best {self.keep} (score {self.rank(search, c):.2f})")
        search.frontier = [c["id"] for c in alive[: self.keep]]


class BFS(_Levels):
    """Breadth-first (ToT-BFS): keep the ``breadth`` children with the highest values at each level."""

    name = "bfs"

    def __init__(self, *, breadth: int = 5, k: int = 5, max_depth: int | None = None) -> None:
        super().__init__(keep=breadth, k=k, max_depth=max_depth)


class Beam(_Levels):
    """Beam search: keep the ``width`` children whose paths score best (``aggregate`` of the values along
    the path: ``mean``, ``min`` or ``last``)."""

    name = "beam"

    def __init__(self, *, width: int = 3, k: int = 4, max_depth: int | None = None,
                 aggregate: Literal["mean", "min", "last"] = "mean") -> None:
        super().__init__(keep=width, k=k, max_depth=max_depth)
        if aggregate not in ("mean", "min", "last"):
            raise UserError(f"Beam aggregate must be mean, min or last, not {aggregate!r}.")
        self.aggregate = aggregate

    def rank(self, search: Search, node: TreeNode) -> float:
        values = [merit(n) for n in search.path(node["id"])[1:]]
        if self.aggregate == "last":
            return values[-1]
        return min(values) if self.aggregate == "min" else sum(values) / len(values)


@dataclass(slots=True)
class DFS(Algorithm):
    """Depth-first with pruning and backtracking (ToT-DFS): expand the best child first, drop children
    valued under ``threshold``, back up to the next node on the stack at a dead end."""

    name = "dfs"
    threshold: float = 0.3
    k: int = 5
    max_depth: int | None = None
    reflect: bool = False

    def select(self, search: Search) -> list[int]:
        while search.frontier:
            i = search.frontier.pop()
            if self.expandable(search.tree[i]):
                return [i]
        return []

    def update(self, search: Search, expanded: list[int]) -> None:
        for i in expanded:
            keep = []
            for c in sorted(search.children(i), key=merit, reverse=True):
                if c["terminal"] and c["reward"] is not None and c["reward"] <= 0:
                    search.prune(c["id"], "finished without solving it")
                elif merit(c) < self.threshold:
                    search.prune(c["id"], f"value {merit(c):.2f} under the threshold {self.threshold}")
                else:
                    keep.append(c["id"])
            if not keep:
                search.prune(i, "dead end: every child pruned, backtracking")
            search.frontier.extend(reversed(keep))  # best on top of the stack


@dataclass(slots=True)
class MCTS(Algorithm):
    """Monte Carlo tree search with UCT (LATS-style): ``iterations`` rounds of select → expand →
    evaluate → backpropagate; ``c`` weighs exploration."""

    name = "mcts"
    iterations: int = 10
    c: float = 1.0
    k: int = 3
    max_depth: int | None = None
    reflect: bool = True

    def select(self, search: Search) -> list[int]:
        node = search.tree[0]
        while node["expanded"]:
            candidates = [c for c in search.children(node["id"]) if self._open(search, c)]
            if not candidates:
                return []  # the whole tree below here is finished
            node = max(candidates, key=lambda c: self.uct(node, c))
        return [node["id"]] if self._open(search, node) else []

    def _open(self, search: Search, node: TreeNode) -> bool:
        if not self.expandable(node):
            return False
        return not node["expanded"] or any(self._open(search, c) for c in search.children(node["id"]))

    def uct(self, parent: TreeNode, child: TreeNode) -> float:
        if child["visits"] == 0:
            return math.inf
        exploit = child["total"] / child["visits"]
        return exploit + self.c * math.sqrt(math.log(max(parent["visits"], 1)) / child["visits"])

    def update(self, search: Search, expanded: list[int]) -> None:
        for i in expanded:
            path = search.path(i)
            for child in search.children(i):
                value = merit(child)
                child["visits"], child["total"] = 1, value
                for ancestor in path:
                    ancestor["visits"] += 1
                    ancestor["total"] += value
        search.rounds += 1

    def done(self, search: Search) -> str | None:
        if search.rounds >= self.iterations:
            return f"iteration limit reached ({self.iterations})"
        return None


ALGORITHMS: dict[str, type[Algorithm]] = {"bfs": BFS, "beam": Beam, "dfs": DFS, "mcts": MCTS}


def make_algorithm(name: str | Algorithm, **options: Any) -> Algorithm:
    """An algorithm by name with its options, dropping options that do not apply (``None`` values).

    Example:
        >>> make_algorithm("beam", width=2).keep
        2
    """
    if isinstance(name, Algorithm):
        return name
    cls = ALGORITHMS.get(name)
    if cls is None:
        raise UserError(f"Unknown search algorithm {name!r}. Use one of {sorted(ALGORITHMS)}.")
    options = {k: v for k, v in options.items() if v is not None}
    try:
        return cls(**options)
    except TypeError as e:
        raise UserError(f"Bad option for {name}: {e}.") from None
