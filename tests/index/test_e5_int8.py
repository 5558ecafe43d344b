"""The int8 e5 graph on the real weights: it loads in OnnxE5 and its vectors stay close to the fp32 graph's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from kbqa.index.embed.e5_int8 import INT8_NAME, int8_path, quantize  # noqa: E402
from kbqa.index.embed.e5_onnx import OnnxE5, export_onnx  # noqa: E402

# slow: exports and quantises the real graph, ~65 s on 2 cores
pytestmark = pytest.mark.slow

TEXTS = [
    "Giá xăng RON95 tăng 1.230 đồng/lít từ 15h ngày 3/10/2024.",
    "Đội tuyển bóng đá nữ Việt Nam giành HCV SEA Games 32 tại Campuchia.",
    "Ngân hàng Nhà nước điều chỉnh lãi suất điều hành giảm 0,5 điểm phần trăm.",
    "The committee approved the 2024 budget after a long debate; members voted 7-2.",
]


@pytest.fixture(scope="module")
def fp32_graph(model_dir: Path) -> Path:
    """The fused fp32 graph of the bundled model, exported once into the session's test cache."""
    return export_onnx(model_dir)


def test_int8_graph_matches_fp32(fp32_graph: Path, tmp_path: Path) -> None:
    assert int8_path(fp32_graph) == fp32_graph.with_name(INT8_NAME)
    out = tmp_path / INT8_NAME  # never written beside a graph of the user's cache
    assert quantize(fp32_graph, out) == out and out.is_file()
    stamp = out.stat().st_mtime_ns
    assert quantize(fp32_graph, out) == out and out.stat().st_mtime_ns == stamp  # made once, then kept
    assert [p.name for p in tmp_path.iterdir()] == [INT8_NAME]  # no temporary file left behind

    fp32 = OnnxE5(fp32_graph.parent, threads=2).embed_passages(TEXTS)
    int8 = OnnxE5(fp32_graph.parent, threads=2, path=out).embed_passages(TEXTS)
    assert int8.shape == fp32.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-4)
    cos = (int8 * fp32).sum(axis=1)
    assert cos.min() >= 0.99, cos
