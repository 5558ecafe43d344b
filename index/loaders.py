"""Find document files under the given paths and read them as text."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from index.errors import InputError

SUPPORTED_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class RawFile:
    """A file's text as read, before cleaning, with the path as the user gave it."""

    source: str
    text: str


def display_path(path: Path) -> str:
    """The path as the user would write it: relative to the working directory when below it."""
    try:
        return Path(os.path.relpath(path)).as_posix() if not path.is_absolute() else path.as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


def find_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every supported file under `paths` (files or folders), sorted, hidden entries skipped."""
    found: list[Path] = []
    for given in paths:
        path = Path(os.path.normpath(given))
        if not path.exists():
            raise InputError(f"no such file or folder: {given}")
        if path.is_file():
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                raise InputError(f"unsupported file type {path.suffix or '(none)'}: {given} (supported: .txt, .md)")
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
        shown = ", ".join(str(p) for p in paths)
        raise InputError(f"no .txt or .md files found in {shown}")
    return unique


def decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) first; otherwise the encoding charset-normalizer detects."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise InputError(f"{name}: not a text file (unknown encoding)")
    return str(best)


def read_files(paths: Iterable[Path]) -> Iterator[RawFile]:
    """Read each file as text."""
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}") from None
        yield RawFile(source=display_path(path), text=decode(data, str(path)))
