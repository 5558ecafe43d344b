"""Hard input limits of the loaders, read once from the settings (kbqa.config defines their defaults)."""

from __future__ import annotations

from kbqa.config import Settings, load_settings
from kbqa.errors import InputError

try:  # KBQA_MAX_FILE_MB etc. or kbqa.toml; a bad kbqa.toml is reported by the command itself, not at import
    _settings = load_settings()
except InputError:
    _settings = Settings()

MAX_FILE_BYTES = _settings.max_file_mb * 1024 * 1024  # a larger file is refused with a one-line error
MAX_TITLE_CHARS = _settings.max_title_chars  # a longer title is cut (at a word boundary when one is near)
MAX_LINE_CHARS = _settings.max_line_chars  # a longer line is split (at a space or sentence end when one is near)
SNIFF_BYTES = 4096  # how much of a file's start decides its format
BINARY_CONTROL_SHARE = 0.05  # more control bytes than this share (and than 8) in the start: not a text file


def file_size_message(name: str, size: int) -> str:
    """The one-line refusal of a file over MAX_FILE_BYTES."""
    return f"{name}: file too large ({size / 1048576:.1f} MB; the limit is {MAX_FILE_BYTES / 1048576:g} MB)"
