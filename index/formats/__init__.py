"""Read one file of any supported format (sniffed from its content) into text plus metadata."""

from __future__ import annotations

from kbqa.index.formats.load import SUPPORTED_SUFFIXES, LoadedText, load_bytes, load_file

__all__ = ["SUPPORTED_SUFFIXES", "LoadedText", "load_bytes", "load_file"]
