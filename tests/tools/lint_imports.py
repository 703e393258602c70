"""Run import-linter's contracts (``[tool.importlinter]`` in pyproject.toml) as anyone would: ``lint-imports``
in the repository.

The top-level folders ship under ``agentkit`` through setuptools' ``package-dir`` (``memory/`` is
``agentkit.memory``, ...). grimp finds a package's modules by walking its folder, so ``agentkit/`` holds a
link to each of them (``agentkit/memory -> ../memory``), laid out as the wheel lays them out.

    python -m tests.tools.lint_imports        # the same as: lint-imports
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def package_dirs() -> dict[str, str]:
    """pyproject.toml's ``package-dir``: import name -> source folder."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]


def lint_imports(edit: Callable[[Path], None] | None = None) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` in the repository; with ``edit``, on a copy of it that ``edit(folder)`` changed first
    (the links copied as the folders they point to)."""
    command = [str(Path(sys.executable).with_name("lint-imports")), "--no-logo", "--no-cache"]
    if edit is None:
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="agentkit-layers-") as tmp:
        shutil.copytree(ROOT / "agentkit", Path(tmp) / "agentkit", symlinks=False,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copy(ROOT / "pyproject.toml", Path(tmp) / "pyproject.toml")
        edit(Path(tmp))
        return subprocess.run(command, cwd=tmp, capture_output=True, text=True)


if __name__ == "__main__":
    result = lint_imports()
    print(result.stdout + result.stderr, end="")
    sys.exit(result.returncode)
