"""Find document files under the given paths and read them as text."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kbqa.errors import InputError
from kbqa.index.formats import SUPPORTED_SUFFIXES, LoadedText, load_file
from kbqa.index.formats.limits import DEFAULT_LIMITS, Limits
from kbqa.index.formats.text import decode as _decode

__all__ = [
    "SUPPORTED_SUFFIXES",
    "LoadedText",
    "RawFile",
    "decode",
    "display_path",
    "find_files",
    "printable",
    "read_files",
    "resolved",
]
_SHOWN = ", ".join(SUPPORTED_SUFFIXES)
_OTHERS = ", ".join(s for s in SUPPORTED_SUFFIXES if s not in (".txt", ".md"))


@dataclass(frozen=True)
class RawFile:
    """A file's text as read, before cleaning, with the path as the user gave it, and what its format told:
    date, author, for a PDF the offsets in `text` where each page starts, and for HTML the publication time its
    markup gives (ISO 8601; the cleaner looks further when None)."""

    source: str
    text: str
    date: str = ""
    author: str = ""
    pages: tuple[int, ...] = ()
    published: str | None = None


def display_path(path: Path) -> str:
    """The path as the user would write it: relative to the working directory when below it."""
    try:
        return Path(os.path.relpath(path)).as_posix() if not path.is_absolute() else path.as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


def printable(text: str) -> str:
    """`text` with control characters, escape sequences and undecodable bytes of a file name shown escaped
    (`\\x1b`, `\\udce9`), so that a notice naming a file stays one harmless line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def resolved(path: str | Path) -> str:
    """The absolute path with symlinks resolved; for a symlink loop, the absolute path as it is."""
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):  # RuntimeError: "Symlink loop from …" (Python < 3.13)
        return os.path.abspath(path)


def _special_error(path: Path, given: str | Path) -> InputError | None:
    """The error for a path given by name that is neither a regular file nor a folder (a FIFO, a device, a socket)."""
    mode = path.stat().st_mode
    if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
        return None
    return InputError(f"not a regular file (a FIFO, device or socket): {printable(str(given))}")


def find_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every supported file under `paths` (files or folders), sorted, hidden entries skipped."""
    found: list[Path] = []
    for given in paths:
        path = Path(os.path.normpath(given))
        if not path.exists():
            raise InputError(f"no such file or folder: {printable(str(given))}")
        error = _special_error(path, given)
        if error is not None:
            raise error
        if path.is_file():
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                kind = printable(path.suffix) or "(none)"
                raise InputError(f"unsupported file type {kind}: {printable(str(given))} (supported: {_SHOWN})")
            found.append(path)
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found.extend(
                Path(root) / name
                for name in sorted(files)
                if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES
            )
    unique = list(dict.fromkeys(found))
    if not unique:
        shown = ", ".join(printable(str(p)) for p in paths)
        raise InputError(f"no .txt or .md files (nor {_OTHERS}) found in {shown}")
    return unique


def decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) first; then by evidence (see kbqa.index.formats.text.decode); controls stripped."""
    from kbqa.index.formats.text import strip_controls

    return strip_controls(_decode(data, name))


def read_files(paths: Iterable[Path], limits: Limits = DEFAULT_LIMITS) -> Iterator[RawFile]:
    """Read each file as text in the format its content shows (HTML, PDF, DOCX, Markdown, plain text), within
    `limits` (from the settings)."""
    for path in paths:
        name = printable(str(path))
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8 in the name (Linux): the store keeps names as text
            raise InputError(f"{name}: the file name is not valid UTF-8; rename the file to index it") from None
        loaded = load_file(path, name, limits)
        yield RawFile(display_path(path), loaded.text, loaded.date, loaded.author, loaded.pages, loaded.published)
