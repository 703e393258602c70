import pytest

from agentkit.envs.registry import ENVS, EnvSpec

TAKE = "scripted:Thought: take it.\nAction: take coin"


@pytest.fixture
def coin_env(monkeypatch):
    """The scripted Coin simulator registered as environment ``coin`` (train split for demonstrations)."""
    monkeypatch.setitem(ENVS, "coin", EnvSpec("tests.unit.envs.fakes", "Coin", "test", "train", 5))
    return "coin"
