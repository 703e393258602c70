"""Run import-linter's contracts (``[tool.importlinter]`` in pyproject.toml) on the package as installed.

The top-level folders ship under ``agentkit`` through setuptools' ``package-dir`` (``memory/`` is
``agentkit.memory``, ...), and an editable install maps them with an import hook that grimp, which walks
the package's directory, cannot see. So the sources are laid out in a temporary folder exactly as the wheel
lays them out, and ``lint-imports`` runs there.

    python -m tests.tools.lint_imports        # prints lint-imports' report; exit code 0 when every contract holds
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def stage(into: Path) -> None:
    """Copy each ``package-dir`` folder to where the wheel puts it (``agentkit/memory/`` for ``memory/``)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = config["tool"]["setuptools"]["package-dir"]
    for package, folder in sorted(folders.items(), key=lambda item: item[0].count(".")):
        shutil.copytree(ROOT / folder, into / package.replace(".", "/"), dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", into / "pyproject.toml")


def lint_imports(edit: Callable[[Path], None] | None = None) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the staged package (after ``edit(folder)``, for tests): its exit code and report."""
    command = Path(sys.executable).with_name("lint-imports")
    with tempfile.TemporaryDirectory(prefix="agentkit-layers-") as tmp:
        stage(Path(tmp))
        if edit is not None:
            edit(Path(tmp))
        env = {**os.environ, "PYTHONPATH": tmp}
        return subprocess.run([str(command), "--no-logo", "--no-cache"], cwd=tmp, env=env, capture_output=True,
                              text=True)


if __name__ == "__main__":
    result = lint_imports()
    print(result.stdout + result.stderr, end="")
    sys.exit(result.returncode)
