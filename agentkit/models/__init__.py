"""One model interface, many backends (each imported only when a spec names it)."""

from agentkit.models.base import Choice, Completion, Delta, GenerateRequest, Model
from agentkit.models.registry import load_model, parse_spec
from agentkit.models.usage import Usage, track_usage

__all__ = ["Choice", "Completion", "Delta", "GenerateRequest", "Model", "Usage", "load_model", "parse_spec",
           "track_usage"]
