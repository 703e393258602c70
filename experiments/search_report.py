"""What a search folder says: its front, the best design's lineage, the search's own cost, a Pareto plot.

Example:
    >>> report = load_search("runs/search-a")  # doctest: +SKIP
    >>> [c.design.id for c in report.front], report.lineage(report.best)[0].status  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.errors import UserError
from agentkit.experiments.designs import DesignError
from agentkit.experiments.search import Candidate, pareto_front

__all__ = ["SearchReport", "load_search", "plot_front"]


@dataclass(frozen=True, slots=True)
class SearchReport:
    out: Path
    settings: dict[str, Any]
    archive: list[Candidate]
    state: dict[str, Any]

    @property
    def front(self) -> list[Candidate]:
        return pareto_front(self.archive)

    @property
    def best(self) -> Candidate:
        return max(self.front, key=lambda c: (c.validation.success, -c.validation.tokens))  # type: ignore[union-attr]

    def lineage(self, candidate: Candidate) -> list[Candidate]:
        """``candidate`` and its ancestors back to the seed (first parent at each step), seed first."""
        by_id: dict[str, Candidate] = {}
        for c in self.archive:  # the candidate that scored a design, not a later duplicate of it
            if c.design is not None and c.status != "duplicate":
                by_id.setdefault(c.design.id, c)
        chain, seen = [candidate], set()
        while chain[-1].parents and chain[-1].parents[0] in by_id and chain[-1].parents[0] not in seen:
            seen.add(chain[-1].parents[0])
            chain.append(by_id[chain[-1].parents[0]])
        return list(reversed(chain))

    def counts(self) -> dict[str, int]:
        """Candidates by status (seed, promoted, raced out, invalid, duplicate, ...)."""
        return dict(Counter(c.status for c in self.archive))

    def cost(self, cache: Any = None) -> dict[str, Any]:
        """What the search spent: from the episode cache when given, and its wall time."""
        spent = dict(cache.spent(str(self.out.resolve()))) if cache is not None else {}
        return {**spent, "wall_seconds": self.state.get("wall_seconds", 0.0)}


def load_search(out: str | Path) -> SearchReport:
    """Read a search folder.

    Raises:
        UserError: not a search folder, or one whose archive has no scored design.
    """
    folder = Path(out)
    settings_path, archive_path = folder / "search.json", folder / "archive.jsonl"
    if not settings_path.is_file() or not archive_path.is_file():
        raise UserError(f"{folder} is not a search folder (it has no search.json and archive.jsonl); give the "
                        "--out of an `agentkit search` run.")
    archive = []
    for line in archive_path.read_text(encoding="utf-8").splitlines():
        try:
            archive.append(Candidate.from_json(json.loads(line)))
        except (ValueError, KeyError, DesignError):
            continue
    if not any(c.validation is not None for c in archive):
        raise UserError(f"{folder}'s search has not scored a design yet (not even the seed); resume it.")
    state_path = folder / "state.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    return SearchReport(folder, json.loads(settings_path.read_text()), archive, state)


def plot_front(reports: list[SearchReport], path: str | Path) -> Path:
    """Validation success vs tokens per episode of every promoted design, the front joined up, per search."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for report in reports:
        scored = [c for c in report.archive if c.validation is not None]
        label = f"{report.out.name} ({report.settings.get('strategy')})"
        points = ax.scatter([c.validation.tokens for c in scored], [100 * c.validation.success for c in scored],
                            alpha=0.5, label=label)
        front = sorted(report.front, key=lambda c: c.validation.tokens)  # type: ignore[union-attr]
        ax.plot([c.validation.tokens for c in front], [100 * c.validation.success for c in front],  # type: ignore[union-attr]
                color=points.get_facecolor()[0], drawstyle="steps-post")
        seed = next((c for c in scored if c.status == "seed"), None)
        if seed is not None:
            ax.scatter([seed.validation.tokens], [100 * seed.validation.success], marker="*", s=160,  # type: ignore[union-attr]
                       color=points.get_facecolor()[0], edgecolors="black")
    ax.set_xlabel("tokens per episode (validation)")
    ax.set_ylabel("success on validation (%)")
    ax.set_title("Design search: every promoted design, the front joined, the seed starred")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
