"""A progress line for long embedding runs: documents, chunks, chunks/s and ETA (tqdm on a terminal, else lines)."""

# Written to stderr directly, not through logging: this is a progress display (a bar redrawn in place, or a line
# every LINE_EVERY s that the caller asked for with show_progress), not a notice (kbqa.logs carries those).

from __future__ import annotations

import sys
import time

LINE_EVERY = 10.0  # seconds between plain progress lines when stderr is not a terminal (logs, CI, pipes)


class EmbedProgress:
    """`update(chunks_done_now, documents_done_so_far)`. `enabled`: True a tqdm bar, False silent, None (auto) a bar
    on a terminal, else a plain line on stderr every LINE_EVERY seconds (a job shorter than that prints nothing)."""

    def __init__(self, chunks: int, documents: int, enabled: bool | None) -> None:
        from tqdm import tqdm

        self._documents = documents
        self._total = chunks
        self._lines = enabled is None and not sys.stderr.isatty()
        self._started = self._last = time.monotonic()
        self._done = 0
        self._bar = tqdm(
            total=chunks,
            unit="chunk",
            desc="embedding",
            disable=self._lines or enabled is False,
            file=sys.stderr,
            bar_format="{desc}: {n_fmt}/{total_fmt} chunks{postfix} [{elapsed}<{remaining}, {rate_fmt}]",
        )

    def update(self, chunks: int, documents: int) -> None:
        self._done += chunks
        if self._documents:
            self._bar.set_postfix_str(f"{documents}/{self._documents} docs", refresh=False)
        self._bar.update(chunks)
        now = time.monotonic()
        if self._lines and now - self._last >= LINE_EVERY and self._done < self._total:
            self._last = now
            rate = self._done / max(now - self._started, 1e-9)
            eta = (self._total - self._done) / max(rate, 1e-9)
            docs = f", {documents}/{self._documents} documents" if self._documents else ""
            print(
                f"kbqa: embedding {self._done}/{self._total} chunks{docs}, {rate:.1f} chunks/s, "
                f"about {_duration(eta)} left",
                file=sys.stderr,
                flush=True,
            )

    def __enter__(self) -> EmbedProgress:
        return self

    def __exit__(self, *_: object) -> None:
        self._bar.close()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
