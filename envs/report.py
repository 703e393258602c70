"""Tables and plots from eval records (``episodes.jsonl``): per task type, one run or several compared.

Example:
    >>> records = [{"task_type": "coin", "won": True, "reward": 1.0, "steps": 4, "seconds": 2.0},
    ...            {"task_type": "coin", "won": False, "reward": 0.0, "steps": 9, "seconds": 3.0,
    ...             "error": "engine died"}]
    >>> row = summarize(records)["coin"]
    >>> row.episodes, row.won, row.success, row.errors, row.lost, row.steps
    (2, 1, 0.5, 1, 0, 6.5)
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from agentkit.optional import require

__all__ = ["Summary", "comparison_table", "plot", "run_table", "summarize"]

ALL = "all"


@dataclass(frozen=True, slots=True)
class Summary:
    """One task type's figures (errors count as episodes not won, and apart from losses)."""

    episodes: int
    won: int
    reward: float
    steps: float
    tokens: float
    seconds: float
    errors: int
    out_of_steps: int = 0  # losses that ran out of steps

    @property
    def lost(self) -> int:
        """Episodes that ran and were not won (errors apart)."""
        return self.episodes - self.won - self.errors

    @property
    def success(self) -> float:
        return self.won / self.episodes if self.episodes else 0.0


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _summary(records: Sequence[Mapping[str, Any]]) -> Summary:
    tokens = [r.get("tokens", {}).get("total", 0) for r in records]
    return Summary(len(records), sum(bool(r.get("won")) for r in records),
                   _mean([float(r.get("reward") or 0.0) for r in records]),
                   _mean([r.get("steps", 0) for r in records]), _mean(tokens),
                   _mean([r.get("seconds", 0.0) for r in records]), sum(bool(r.get("error")) for r in records),
                   sum(not r.get("won") and not r.get("error") and "step limit" in (r.get("stop_reason") or "")
                       for r in records))


def summarize(records: Iterable[Mapping[str, Any]]) -> dict[str, Summary]:
    """Figures per task type (sorted), plus ``"all"`` when there are several types."""
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    everything = list(records)
    for record in everything:
        by_type.setdefault(record.get("task_type") or "?", []).append(record)
    rows = {t: _summary(by_type[t]) for t in sorted(by_type)}
    if len(rows) > 1:
        rows[ALL] = _summary(everything)
    return rows


def run_table(records: Iterable[Mapping[str, Any]], title: str = "") -> Table:
    """One run: a row per task type."""
    table = Table(title=title or None)
    summary = summarize(records)
    table.add_column("task type", no_wrap=True, min_width=max(map(len, summary), default=9))
    for column in ("episodes", "won", "success", "lost (out of steps)", "errors", "avg reward", "avg steps",
                   "avg tokens", "avg s"):
        table.add_column(column, justify="right")
    for task_type, s in summary.items():
        table.add_row(task_type, str(s.episodes), str(s.won), f"{s.success:.0%}", f"{s.lost} ({s.out_of_steps})",
                      str(s.errors), f"{s.reward:.2f}", f"{s.steps:.1f}", f"{s.tokens:,.0f}", f"{s.seconds:.1f}",
                      end_section=task_type == ALL)
    return table


def comparison_table(runs: Mapping[str, Iterable[Mapping[str, Any]]]) -> Table:
    """Several runs side by side: success (won/episodes) per task type."""
    summaries = {name: summarize(records) for name, records in runs.items()}
    types = sorted({t for rows in summaries.values() for t in rows if t != ALL}) + [ALL]
    table = Table(title="success by task type (won/episodes)")
    table.add_column("task type", no_wrap=True, min_width=max(map(len, types)))
    for name in summaries:
        table.add_column(name, justify="right")
    for task_type in types:
        cells = []
        for rows in summaries.values():
            s = rows.get(task_type) or (next(iter(rows.values())) if task_type == ALL and len(rows) == 1 else None)
            cells.append(f"{s.success:.0%} ({s.won}/{s.episodes})" if s else "-")
        table.add_row(task_type, *cells)
    return table


def _label(task_type: str, width: int = 12) -> str:
    """A task type as a bar label: its words (``_``-separated) wrapped onto lines of about ``width``
    characters, so neighbouring labels do not run into each other."""
    return textwrap.fill(task_type.replace("_", " "), width=width, break_long_words=False)


def plot(runs: Mapping[str, Iterable[Mapping[str, Any]]], path: str | Path) -> Path:
    """A grouped bar chart of success rate per task type, one bar per run, saved as PNG."""
    matplotlib = require("matplotlib", what="Plots", needs="matplotlib", extra="agentkit[envs]")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summaries = {name: summarize(records) for name, records in runs.items()}
    types = sorted({t for rows in summaries.values() for t in rows if t != ALL})
    width = 0.8 / max(1, len(summaries))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.7 * len(types) * max(1, len(summaries)) ** 0.5), 4.4))
    for i, (name, rows) in enumerate(summaries.items()):
        xs = [j + i * width for j in range(len(types))]
        heights = [100 * rows[t].success if t in rows else 0.0 for t in types]
        bars = ax.bar(xs, heights, width, label=name)
        ax.bar_label(bars, labels=[f"{rows[t].won}/{rows[t].episodes}" if t in rows else "" for t in types],
                     fontsize=7)
    ax.set_xticks([j + width * (len(summaries) - 1) / 2 for j in range(len(types))])
    ax.set_xticklabels([_label(t) for t in types], fontsize=8)
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
