"""Reading a run's ``episodes.jsonl`` while it may still be written: read-only, incremental, a torn last line
left for the next read (the writer has not finished it), never truncated.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "episodes.jsonl"
    >>> _ = path.write_text('{"task_id": "a"}\\n{"task_id": "b"')
    >>> follower = JsonlFollower(path)
    >>> [r["task_id"] for r in follower.read()]
    ['a']
    >>> with path.open("a") as f:
    ...     _ = f.write('}\\n')
    >>> [r["task_id"] for r in follower.read()]
    ['b']
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["JsonlFollower"]


class JsonlFollower:
    """New complete JSON lines of ``path`` since the last ``read``. A line that is whole (it ends with a newline)
    but not JSON is counted in ``bad`` and skipped."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self.bad = 0

    def read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # only whole lines; the rest is being written
        if end == 0:
            return []
        self.offset += end
        out = []
        for line in data[:end].splitlines():
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                self.bad += 1
        return out
