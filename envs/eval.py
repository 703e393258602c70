"""The episode log of an evaluation run, and which tasks a run plays.

``EpisodeLog`` is ``DIR/episodes.jsonl`` (one JSON line per finished episode) and ``DIR/config.json`` (the
run's settings, compared on resume). Durability: a record is written with one ``write`` of a whole line,
flushed and fsynced, when its episode finishes. ``load`` drops a torn last line (a kill -9 mid-write) and
truncates the file to the last whole record, so a resumed run neither loses a finished episode nor counts
one twice. The run itself (K episodes at once, players, records) is ``agentkit.experiments``.

Example:
    >>> import tempfile
    >>> log = EpisodeLog(tempfile.mkdtemp())
    >>> log.start({"env": "coin", "concurrency": 2}, resume=False)
    []
    >>> log.append({"task_id": "1", "won": True})
    >>> [r["task_id"] for r in log.start({"env": "coin", "concurrency": 4}, resume=True)]  # concurrency may change
    ['1']
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from agentkit.envs.base import ThreadedEnv
from agentkit.errors import UserError

__all__ = ["EpisodeLog", "select_tasks"]


class EpisodeLog:
    """``DIR/episodes.jsonl`` (one record per finished episode) and ``DIR/config.json`` (the run's settings)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        self.path = self.dir / "episodes.jsonl"
        self.config_path = self.dir / "config.json"

    def load(self) -> list[dict[str, Any]]:
        """The finished episodes; a torn or corrupt last line is cut off the file (it was never finished)."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        records, good_end = [], 0
        for line in data.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break
            try:
                records.append(json.loads(line))
            except ValueError:
                if good_end + len(line) < len(data):
                    raise UserError(f"{self.path} has a corrupt record in the middle (byte {good_end}); it was not "
                                    "written by agentkit's harness. Move it away or fix that line.") from None
                break
            good_end += len(line)
        if good_end < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good_end)
        return records

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one finished episode: one whole line, flushed and fsynced."""
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def drop(self, unwanted: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Take the records ``unwanted`` picks out of the log, so that a resumed run plays those episodes
        again (the log is rewritten to a temporary file and swapped in whole: a kill leaves either file);
        returns what was taken out."""
        records = self.load()
        gone = [r for r in records if unwanted(r)]
        if gone:
            kept = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records if not unwanted(r))
            temporary = self.path.with_suffix(".jsonl.tmp")
            with open(temporary, "wb") as f:
                f.write(kept.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, self.path)
        return gone

    def start(self, config: Mapping[str, Any], *, resume: bool, defaults: Mapping[str, Any] | None = None,
              resumable: Collection[str] = ()) -> list[dict[str, Any]]:
        """Open the run: a new one must be empty; a resumed one must have the same settings, but for
        ``concurrency`` and the names in ``resumable``. A setting the old run's ``config.json`` lacks (it
        predates the setting) had its value in ``defaults``, else it was off (``None``/``False``).
        Returns the episodes already finished."""
        self.dir.mkdir(parents=True, exist_ok=True)
        done = self.load()
        if self.config_path.exists():
            try:
                old = json.loads(self.config_path.read_text())
            except ValueError:
                raise UserError(f"{self.config_path} is not JSON (damaged?). Restore it, or move the folder away "
                                "and start a new run; episodes.jsonl keeps the finished episodes.") from None
            if not resume and done:
                raise UserError(f"{self.dir} already holds {len(done)} finished episodes. Pass --resume to continue "
                                "that run, or choose another --out.")
            free = _RESUMABLE | set(resumable)
            changed = {k for k in config.keys() | old.keys()
                       if k not in free and _changed(k, old, config, defaults or {})}
            if resume and changed:
                raise UserError(f"Cannot resume {self.dir} with different settings ({', '.join(sorted(changed))}); "
                                "rerun with the original ones or choose another --out.")
        elif resume and not done:
            raise UserError(f"Nothing to resume in {self.dir}: it has no run. Drop --resume to start one.")
        self.config_path.write_text(json.dumps(dict(config), indent=2) + "\n")
        return done


_RESUMABLE = {"concurrency", "resume", "out"}  # settings a resumed run may change


def _changed(key: str, old: Mapping[str, Any], new: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
    if key not in old:  # a setting newer than the run: the run had it at its default, or off
        return new.get(key) != defaults[key] if key in defaults else new.get(key) not in (None, False)
    return old[key] != new.get(key)


def select_tasks(env: ThreadedEnv, *, limit: int | None = None, per_type: int | None = None,
                 tasks: Iterable[str] | None = None) -> list[str]:
    """The task ids to run: ``tasks`` if given, else the split's first ``per_type`` of each task type
    (interleaved by type), then the first ``limit``."""
    if tasks is not None:
        chosen = list(tasks)
        known = set(env.task_ids())
        unknown = [t for t in chosen if t not in known]
        if unknown:
            raise UserError(f"Unknown task id(s) for {env.name} {env.split}: {', '.join(unknown[:5])}. "
                            f"Ids look like {env.task_ids()[0]!r}.")
    else:
        chosen = env.task_ids()
        if per_type is not None:
            by_type: dict[str, list[str]] = {}
            for task_id in chosen:
                by_type.setdefault(env.task_type(task_id), []).append(task_id)
            rounds = [[ids[i] for ids in by_type.values() if i < len(ids)] for i in range(per_type)]
            chosen = [t for r in rounds for t in r]
    return chosen[:limit] if limit is not None else chosen
