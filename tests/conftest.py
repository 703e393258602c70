"""Shared fixtures. Unit tests may not load real model weights; integration tests are marked."""

from __future__ import annotations

import os
from typing import Any

import pytest

REAL = ("llm", "server")


@pytest.fixture(autouse=True)
def _no_real_models_in_unit_tests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if any(request.node.get_closest_marker(m) for m in REAL):
        return

    def refuse(target: str, **_: Any) -> None:
        raise RuntimeError(
            f"A unit test tried to load real model weights ({target!r}). Use agentkit.models.testing.ScriptedModel, "
            "or mark the test @pytest.mark.llm and put it under tests/integration/."
        )

    monkeypatch.setattr("agentkit.models.llamacpp.resolve_gguf", refuse)


@pytest.fixture(autouse=True)
def _isolated_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTKIT_MODEL", raising=False)


@pytest.fixture(scope="session")
def require():
    """``require("llama_cpp")`` skips when an optional dependency is missing, except in CI, where every
    test must run."""

    def check(module: str) -> None:
        try:
            __import__(module)
        except ImportError:
            if os.environ.get("CI"):
                raise
            pytest.skip(f"{module} is not installed (pip install -e '.[dev]')")

    return check
