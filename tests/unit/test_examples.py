"""The user-defined workflow example runs from the CLI by import path, and stays short."""

import ast
import json
from pathlib import Path

from agentkit.cli import main

ROOT = Path(__file__).parents[2]


def test_the_example_workflow_runs_from_the_cli_by_import_path(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("AGENTKIT_MODEL", "scripted:Draft or check. Answer: 8")
    assert main(["run", "How much do 12 pens cost?", "--workflow", "examples.check_and_fix:build", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["state"]["answer"] == "8" and out["usage"]["calls"] == 2  # draft, then the new check node


def test_the_check_node_sees_the_draft(monkeypatch):
    import asyncio

    from agentkit.context import RunContext
    from agentkit.models.testing import ScriptedModel

    monkeypatch.syspath_prepend(str(ROOT))
    from examples.check_and_fix import build

    model = ScriptedModel(["12 pens are 4 groups of 3, so 4 * 2 = 9.\nAnswer: 9", "4 * 2 is 8.\nAnswer: 8"])
    state = asyncio.run(build().ainvoke({"question": "12 pens?"}, context=RunContext(model)))
    assert state["answer"] == "8"
    assert "4 * 2 = 9" in model.requests[1].messages[0]["content"]


def test_the_example_is_under_30_lines_of_code():
    source = (ROOT / "examples" / "check_and_fix.py").read_text()
    tree = ast.parse(source)
    docstring_lines = len(ast.get_docstring(tree).splitlines()) + 2
    code = [line for line in source.splitlines() if line.strip()]
    assert len(code) - docstring_lines < 30
