"""agentkit: agentic, memory-augmented reasoning with local models.

Importing agentkit is cheap: models, engines and UI load on first use.

Example:
    >>> import agentkit
    >>> model = agentkit.load_model("scripted:Answer: 4")
    >>> model.generate_sync("What is 2+2?").text
    'Answer: 4'
"""

from __future__ import annotations

from agentkit.errors import AgentkitError, UserError
from agentkit.models.base import Completion, Model
from agentkit.models.registry import load_model
from agentkit.models.usage import Usage, track_usage

__all__ = ["AgentkitError", "Completion", "Model", "Usage", "UserError", "__version__", "load_model", "track_usage"]

__version__ = "0.1.0"
