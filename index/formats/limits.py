"""Hard input limits of the loaders (to move into index.config.Settings when the integrator wires them)."""

from __future__ import annotations

MAX_FILE_BYTES = 20 * 1024 * 1024  # a larger file is refused with a one-line error
MAX_TITLE_CHARS = 300  # a longer title is cut (at a word boundary when one is near)
MAX_LINE_CHARS = 20_000  # a longer line is split (at a space or sentence end when one is near)
SNIFF_BYTES = 4096  # how much of a file's start decides its format
BINARY_CONTROL_SHARE = 0.05  # more control bytes than this share (and than 8) in the start: not a text file


def file_size_message(name: str, size: int) -> str:
    """The one-line refusal of a file over MAX_FILE_BYTES."""
    return f"{name}: file too large ({size / 1048576:.1f} MB; the limit is {MAX_FILE_BYTES / 1048576:g} MB)"
