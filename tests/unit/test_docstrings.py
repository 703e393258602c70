"""The examples in public docstrings run (those that need a real model are marked +SKIP)."""

import doctest
import importlib

import pytest

MODULES = ["agentkit", "agentkit.types", "agentkit.models.base", "agentkit.models.usage", "agentkit.models.testing",
           "agentkit.models.registry", "agentkit.models.vllm", "agentkit.workflows.cot", "agentkit.workflows.nodes",
           "agentkit.workflows.registry", "agentkit.templates", "agentkit.limits", "agentkit.context",
           "agentkit.runtime", "agentkit.envs.tools", "agentkit.workflows.self_consistency",
           "agentkit.workflows.best_of_n", "agentkit.workflows.reflexion", "agentkit.workflows.got",
           "agentkit.workflows.react", "agentkit.workflows.tot", "agentkit.workflows.mcts",
           "agentkit.workflows.search.algorithms", "agentkit.workflows.tasks.base", "agentkit.workflows.tasks.game24",
           "agentkit.workflows.tasks.game24_search", "agentkit.workflows.tasks.arithmetic", "agentkit.envs.base",
           "agentkit.envs.demos", "agentkit.envs.eval", "agentkit.envs.report", "agentkit.envs.isolation",
           "agentkit.envs.webshop.scorer", "agentkit.workflows.acting", "agentkit.options",
           "agentkit.memory.records", "agentkit.memory.store", "agentkit.memory.embed", "agentkit.memory.index",
           "agentkit.memory.retrieve", "agentkit.memory.experience", "agentkit.memory.distill",
           "agentkit.workflows.memory_nodes", "agentkit.workflows.react_nodes", "agentkit.workflows.answers",
           "agentkit.workflows.tasks.registry", "agentkit.events", "agentkit.optional", "agentkit.paths",
           "agentkit.plugins", "agentkit.experiments.config", "agentkit.experiments.problems",
           "agentkit.experiments.harness", "agentkit.experiments.players", "agentkit.experiments.records",
           "agentkit.experiments.run", "agentkit.experiments.designs", "agentkit.workflows.roles",
           "agentkit.workflows.debate", "agentkit.experiments.operators", "agentkit.experiments.cache",
           "agentkit.experiments.search", "agentkit.experiments.stats"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
