"""Experiments: evaluation and learning runs as a library, above the workflows and below the faces.

    >>> from agentkit.experiments import EvalConfig, run_eval
    >>> config = EvalConfig(env="twx", env_options={"games": "coin"}, per_type=5, model="qwen-1.5b")

``run_eval(config, out=..., on_record=..., on_event=...)`` plays it and returns a ``RunResult``; every
episode is an ``EpisodeRecord`` line of ``OUT/episodes.jsonl``.
"""

from agentkit.experiments.config import ConfigError, EvalConfig
from agentkit.experiments.events import Distilled, EpisodeFinished, EpisodeStarted, Phase, PhaseDone, RunStarted
from agentkit.experiments.harness import play_episodes
from agentkit.experiments.players import AgentPlayer, ExpertPlayer
from agentkit.experiments.records import EpisodeRecord
from agentkit.experiments.run import RunResult, run_eval

__all__ = ["AgentPlayer", "ConfigError", "Distilled", "EpisodeFinished", "EpisodeRecord", "EpisodeStarted",
           "EvalConfig", "ExpertPlayer", "Phase", "PhaseDone", "RunResult", "RunStarted", "play_episodes",
           "run_eval"]
