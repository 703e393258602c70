"""Imports flow one way (faces > experiments > workflows > memory > envs > kernel) and no sibling modules
import each other in a circle: import-linter's contracts in pyproject.toml, lazy imports included."""

from pathlib import Path

from tests.tools.lint_imports import ROOT, lint_imports, package_dirs


def test_agentkit_links_each_folder_where_the_wheel_puts_it():
    """grimp (and python run in a checkout) find agentkit.memory at agentkit/memory: a link to memory/."""
    for package, folder in package_dirs().items():
        place = ROOT / package.replace(".", "/")
        assert place.resolve() == (ROOT / folder).resolve(), f"{place} should link to {folder}/"
        if package != "agentkit":
            assert place.is_symlink() and place.readlink() == Path("..", folder), place


def test_every_import_contract_holds():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and " kept" in result.stdout


def test_a_lazy_upward_import_or_a_circle_breaks_them():
    def sneak(root: Path) -> None:
        with open(root / "agentkit" / "limits.py", "a") as f:
            f.write("\n\ndef _later():\n    from agentkit.workflows.registry import build_workflow\n"
                    "    return build_workflow\n")
        with open(root / "agentkit" / "workflows" / "tasks" / "base.py", "a") as f:
            f.write("\n\ndef _circle():\n    from agentkit.workflows.nodes import vote\n    return vote\n")

    result = lint_imports(sneak)
    assert result.returncode != 0
    assert "agentkit.limits is not allowed to import agentkit.workflows" in result.stdout
    assert ".tasks -> .nodes" in result.stdout
