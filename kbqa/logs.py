"""Where kbqa's notices go: one `kbqa: <message>` line on stderr (the CLI), or a buffer the chat shows."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

LOGGER = "kbqa"  # every module logs under it (logging.getLogger(__name__) is kbqa.index..., kbqa.qa..., kbqa.ui...)
FORMAT = "kbqa: %(message)s"


class StderrHandler(logging.Handler):
    """Writes each notice as one line to the *current* sys.stderr (looked up at each notice, so a stream swapped
    in later, as click's CliRunner and pytest's capsys do, still gets it)."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.setFormatter(logging.Formatter(FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = " ".join(self.format(record).splitlines())  # one line, always
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - logging must never break the command
            self.handleError(record)


def install_stderr_handler(level: int = logging.INFO) -> StderrHandler:
    """Show kbqa's notices (INFO and up) on stderr as `kbqa: <message>`; once per process (a second call returns
    the handler already there). The CLI calls this in `main()`."""
    logger = logging.getLogger(LOGGER)
    for handler in logger.handlers:
        if isinstance(handler, StderrHandler):
            return handler
    handler = StderrHandler(level)
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    return handler


class LogBuffer(logging.Handler):
    """Keeps kbqa's notices (their messages, without the `kbqa: ` prefix) for a page to show; thread-safe.
    `take()` returns the notices so far and empties the buffer."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self._lines: list[str] = []
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = " ".join(record.getMessage().splitlines())
        except Exception:  # noqa: BLE001
            self.handleError(record)
            return
        with self._guard:
            self._lines.append(line)

    def take(self) -> list[str]:
        with self._guard:
            lines, self._lines = self._lines, []
        return lines


def attach(handler: logging.Handler, level: int = logging.INFO) -> None:
    """Send kbqa's notices (at `level` and up) to `handler` too."""
    logger = logging.getLogger(LOGGER)
    if handler not in logger.handlers:
        logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)


def detach(handler: logging.Handler) -> None:
    """Stop sending kbqa's notices to `handler`."""
    logging.getLogger(LOGGER).removeHandler(handler)


@contextmanager
def collect(level: int = logging.INFO) -> Iterator[LogBuffer]:
    """The notices logged while the block runs (by any thread), e.g. an upload's skipped files in the chat:
    `with collect() as notes: ...; shown = notes.take()`."""
    buffer = LogBuffer(level)
    attach(buffer, level)
    try:
        yield buffer
    finally:
        detach(buffer)
