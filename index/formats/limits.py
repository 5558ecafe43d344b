"""Hard input limits of the loaders: a record built from the settings and passed in (kbqa.config has the defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from kbqa.config import Settings

SNIFF_BYTES = 4096  # how much of a file's start decides its format
BINARY_CONTROL_SHARE = 0.05  # more control bytes than this share (and than 8) in the start: not a text file


@dataclass(frozen=True)
class Limits:
    """A larger file (or a .docx unpacking to more than max_inflated_bytes) is refused with a one-line error; a
    longer title is cut (at a word boundary when one is near); a longer line is split (at a space or sentence end
    when one is near)."""

    max_file_bytes: int = Settings.max_file_mb * 1024 * 1024
    max_title_chars: int = Settings.max_title_chars
    max_line_chars: int = Settings.max_line_chars
    max_inflated_bytes: int = Settings.max_inflated_mb * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits `settings` sets (max_file_mb, max_title_chars, max_line_chars, max_inflated_mb)."""
        return cls(
            settings.max_file_mb * 1024 * 1024,
            settings.max_title_chars,
            settings.max_line_chars,
            settings.max_inflated_mb * 1024 * 1024,
        )

    def file_size_message(self, name: str, size: int) -> str:
        """The one-line refusal of a file over max_file_bytes."""
        return f"{name}: file too large ({size / 1048576:.1f} MB; the limit is {self.max_file_bytes / 1048576:g} MB)"

    def inflated_message(self, name: str, size: int) -> str:
        """The one-line refusal of an archive (.docx) that unpacks past max_inflated_bytes (`size`: so far)."""
        limit = self.max_inflated_bytes / 1048576
        return f"{name}: too large when unpacked (over {size / 1048576:.1f} MB; the limit is {limit:g} MB)"


DEFAULT_LIMITS = Limits()
