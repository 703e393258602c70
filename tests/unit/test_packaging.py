"""What users install: one distribution, everything under the ``agentkit`` import name, cheap to import."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["torch", "faiss", "llama_cpp", "vllm", "litellm", "textual", "openai", "sentence_transformers"]
FOLDERS = {"agentkit": "agentkit", "memory": "agentkit/memory", "workflows": "agentkit/workflows",
           "envs": "agentkit/envs", "experiments": "agentkit/experiments", "cli": "agentkit/cli", "tui": "agentkit/tui"}

# Run in a fresh interpreter in which the heavy optional packages cannot be imported at all, as on a bare
# install: importing agentkit and its light modules must still work and must not try to load them.
_BARE = f"""
import importlib.abc, sys
HEAVY = {HEAVY!r}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: bare install)")
sys.meta_path.insert(0, Blocker())
import agentkit, agentkit.models, agentkit.models.registry, agentkit.models.llamacpp, agentkit.models.vllm
import agentkit.models.openai_compat, agentkit.models.litellm, agentkit.cli, agentkit.experiments
import agentkit.memory, agentkit.envs, agentkit.tui, agentkit.workflows.cot, agentkit.runtime, agentkit.envs.tools
from agentkit.workflows.registry import WORKFLOWS, build_workflow
for name in WORKFLOWS: build_workflow(name)
print(agentkit.load_model("scripted:ok").generate_sync("hi").text)
from agentkit.errors import BackendUnavailableError
for spec in ("qwen-0.5b", "vllm:Qwen/Qwen2.5-7B-Instruct", "openai:http://127.0.0.1:9/v1#m", "litellm:ollama/x"):
    try:
        agentkit.load_model(spec).generate_sync("hi")
    except BackendUnavailableError as e:
        print("clear:", str(e).split(":")[0])
print("loaded:", sorted(m for m in sys.modules if m.split(".")[0] in HEAVY))
"""


def test_import_agentkit_loads_no_heavy_package():
    code = ("import sys, agentkit, agentkit.cli, agentkit.experiments; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & set(%r)))")
    out = subprocess.run([sys.executable, "-c", code % HEAVY], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_bare_install_imports_and_says_which_extra_each_backend_needs():
    out = subprocess.run([sys.executable, "-c", _BARE], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "ok"
    assert lines[1:5] == ["clear: The llamacpp backend needs llama-cpp-python", "clear: The vllm backend needs vLLM and an NVIDIA GPU",
                          "clear: The openai backend needs the openai client", "clear: The litellm backend needs litellm"]
    assert lines[5] == "loaded: []"


@pytest.mark.slow
def test_the_wheel_ships_only_the_agentkit_namespace(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("agentkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"agentkit", next(t for t in top if t.endswith(".dist-info"))}
    for folder, package in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            shipped = f"{package}/{init.relative_to(ROOT / folder).as_posix()}"
            assert shipped in names, f"{init} is not in the wheel: add its package to pyproject.toml"
    assert "agentkit/workflows/prompts/cot.yaml" in names
    for style in (ROOT / "tui").rglob("*.tcss"):  # the terminal UI's styles
        assert f"agentkit/tui/{style.relative_to(ROOT / 'tui').as_posix()}" in names
