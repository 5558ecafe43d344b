"""A progress line for long embedding runs: documents, chunks, chunks/s and ETA (tqdm on stderr)."""

from __future__ import annotations

import sys


class EmbedProgress:
    """`update(chunks_done_now, documents_done_so_far)`; silent when not `enabled`."""

    def __init__(self, chunks: int, documents: int, enabled: bool) -> None:
        from tqdm import tqdm

        self._documents = documents
        self._bar = tqdm(
            total=chunks,
            unit="chunk",
            desc="embedding",
            disable=not enabled,
            file=sys.stderr,
            bar_format="{desc}: {n_fmt}/{total_fmt} chunks{postfix} [{elapsed}<{remaining}, {rate_fmt}]",
        )

    def update(self, chunks: int, documents: int) -> None:
        if self._documents:
            self._bar.set_postfix_str(f"{documents}/{self._documents} docs", refresh=False)
        self._bar.update(chunks)

    def __enter__(self) -> EmbedProgress:
        return self

    def __exit__(self, *_: object) -> None:
        self._bar.close()
