"""The README promises two set-up commands; CI must run the test one exactly as written."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _setup_commands() -> list[str]:
    section = ROOT.joinpath("README.md").read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_readme_has_exactly_two_setup_commands_each_making_its_own_venv():
    commands = _setup_commands()
    assert len(commands) == 2
    assert all(c.startswith("python3 -m venv .venv && ") for c in commands)
    assert "agentkit eval --env alfworld" in commands[0] and "[local,envs]" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    assert _setup_commands()[1] in ROOT.joinpath(".ci/run").read_text().splitlines()
