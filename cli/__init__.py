"""The ``agentkit`` command line: a face over the library. It parses flags and renders events; the work is
done by ``agentkit.experiments`` (eval, learn), ``agentkit.workflows`` (run) and ``agentkit.memory``."""

from agentkit.cli.main import main

__all__ = ["main"]
