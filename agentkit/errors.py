"""The errors agentkit raises on purpose.

Three kinds of failure are kept apart:

* ``UserError`` — misuse or a missing resource. The message says what to do.
* Model mistakes (unparseable output, an invalid action) — recorded by workflows as data; at the model
  layer they surface as ``StructuredOutputError`` for callers that asked for parsed output.
* Bugs — anything else; they propagate untouched.
"""

from __future__ import annotations

__all__ = [
    "AgentkitError",
    "BackendUnavailableError",
    "ContextOverflowError",
    "ModelFileError",
    "ModelNotFoundError",
    "ModelServerError",
    "StructuredOutputError",
    "UserError",
]


class AgentkitError(Exception):
    """Base class of every error agentkit raises on purpose."""


class UserError(AgentkitError):
    """Misuse or a missing resource; the message names the fix."""


class ModelNotFoundError(UserError):
    """A model spec names nothing that can be loaded here."""


class ModelFileError(UserError):
    """A model file exists but is truncated, corrupt or not a GGUF file."""


class BackendUnavailableError(UserError):
    """A backend's optional dependency (or hardware) is missing."""


class ModelServerError(AgentkitError):
    """A model server could not be reached or kept answering with errors or garbage, after retries."""


class ContextOverflowError(AgentkitError):
    """The prompt does not fit the model's context window (shorten it, or load a larger window)."""


class StructuredOutputError(AgentkitError):
    """The model's output does not parse as JSON matching the requested schema."""

    def __init__(self, message: str, *, text: str) -> None:
        super().__init__(message)
        self.text = text
