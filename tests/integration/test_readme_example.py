"""The README's evaluation-from-Python example runs as written (on the real TextWorldExpress; the model comes
from $AGENTKIT_MODEL, here a scripted one, so the test needs no weights)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.envs]


def _example() -> str:
    blocks = re.findall(r"```python\n(.+?)\n```", ROOT.joinpath("README.md").read_text(), re.DOTALL)
    (code,) = [b for b in blocks if "from agentkit.experiments import" in b]
    return code


def test_the_readme_runs_an_evaluation_from_python_in_about_ten_lines(tmp_path, require):
    require("textworld_express")
    code = _example()
    assert len([line for line in code.splitlines() if line.strip()]) <= 12
    env = {**os.environ, "AGENTKIT_MODEL": "scripted:Thought: look first.\nAction: look around",
           "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[-1] == "won 0 of 3"
    actions = [line for line in lines[:-1] if " → " in line]
    assert len(actions) == 30 and {a.split()[0] for a in actions} == {"coin/20000", "coin/20001", "coin/20002"}
    assert (tmp_path / "runs" / "coin-py" / "episodes.jsonl").read_text().count("\n") == 3
