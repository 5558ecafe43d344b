"""Embedding progress: a bar on a terminal, plain lines every few seconds in logs, nothing when turned off."""

from __future__ import annotations

import kbqa.index.progress as progress


def test_without_a_terminal_progress_is_a_plain_line_every_few_seconds(capsys, monkeypatch):
    clock = iter(range(0, 1000, 4))  # each call to the clock moves it 4 s on
    monkeypatch.setattr(progress.time, "monotonic", lambda: float(next(clock)))
    with progress.EmbedProgress(100, 10, enabled=None) as bar:  # pytest's stderr is not a terminal
        for i in range(10):
            bar.update(10, i + 1)
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(line.startswith("kbqa: embedding ") for line in lines)
    assert len(lines) == 3  # 40 s of work, a line every 10 s, none once done
    assert "/100 chunks, " in lines[0] and "/10 documents" in lines[0] and "chunks/s, about" in lines[0]


def test_progress_turned_off_prints_nothing(capsys):
    with progress.EmbedProgress(100, 10, enabled=False) as bar:
        bar.update(100, 10)
    assert capsys.readouterr().err == ""
