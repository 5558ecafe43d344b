"""Hazards in a folder or a setting (FIFOs, devices, sockets, symlink loops, odd file names, chunk sizes, CRLF front
matter, UTF-16 without BOM): each is read or skipped with one line, never a hang, a loop or a traceback."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kbqa.config import MAX_CHUNK_OVERLAP, MIN_CHUNK_CHARS, load_settings
from kbqa.errors import InputError
from kbqa.index.chunking import chunk_document
from kbqa.index.clean import clean_document
from kbqa.index.formats import load_bytes, load_file
from kbqa.index.loaders import find_files, printable, read_files
from tests.conftest import ROOT

GOOD = "Hanoi is the capital of Vietnam. It is a large city with many lakes and old streets.\n"
VIETNAMESE = "Hà Nội là thủ đô của Việt Nam. Thành phố có nhiều hồ.\nHello world, this is plain text."


def _kbqa(args: list[str], cwd: Path, store: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, bounded in time (a hang fails the test instead of blocking it)."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "KBQA_STORE": str(store), "PYTHONPATH": str(ROOT), **(env or {})}
    cmd = [sys.executable, "-m", "kbqa", *args]
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120)


def _snapshot(store: Path) -> dict[str, str]:
    """Every file of the store and its content hash: equal before and after means the store is unchanged."""
    if not store.exists():
        return {}
    return {
        str(p.relative_to(store)): hashlib.sha256(p.read_bytes()).hexdigest() for p in store.rglob("*") if p.is_file()
    }


def _one_line(done: subprocess.CompletedProcess) -> str:
    """The one line a failed command printed."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def _skipped(done: subprocess.CompletedProcess) -> list[str]:
    """The `skipped` lines of a run that went on: besides them, stderr holds only the one-line report."""
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    report = [line for line in lines if not line.startswith("kbqa: skipped ")]
    assert len(report) == 1 and report[0].startswith("kbqa: indexed 1 file(s)"), done.stderr
    return [line for line in lines if line.startswith("kbqa: skipped ")]


@pytest.fixture()
def short_dir() -> Iterator[Path]:
    """A folder with a short path (a Unix socket's path is limited to ~100 bytes), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="kbqa-hz-", dir="/tmp" if os.path.isdir("/tmp") else None))
    yield folder
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        path.unlink() if path.is_symlink() or not path.is_dir() else path.rmdir()
    folder.rmdir()


def _docs(tmp_path: Path) -> Path:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.txt").write_text(GOOD, encoding="utf-8")
    return folder


# --- special files: skipped with one line, never opened ----------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_a_folder_is_skipped_with_one_line_and_never_opened(tmp_path: Path) -> None:
    folder = _docs(tmp_path)
    os.mkfifo(folder / "x.txt")  # open() on it would wait for a writer forever
    store = tmp_path / ".kbqa"
    done = _kbqa(["index", "d"], tmp_path, store)
    assert _skipped(done) == ["kbqa: skipped d/x.txt: not a regular file (a FIFO)"]

    before = _snapshot(store)
    done = _kbqa(["add", "d/x.txt"], tmp_path, store)  # named alone: the one line is the error
    assert done.returncode == 1
    assert _one_line(done) == "kbqa: error: not a regular file (a FIFO, device or socket): d/x.txt"
    assert _snapshot(store) == before


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX") or not os.path.exists("/dev/null"), reason="no sockets, devices")
def test_a_socket_and_a_device_are_refused_without_opening(short_dir: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(short_dir / "s.txt"))
        os.symlink("/dev/null", short_dir / "dev.txt")  # a link to a device: followed, then refused
        for name, kind in (("s.txt", "a socket"), ("dev.txt", "a device")):
            with pytest.raises(InputError, match=rf"not a regular file \({kind}\)$"):
                load_file(short_dir / name)
        assert [p.name for p in find_files([short_dir])] == ["dev.txt", "s.txt"]  # found, then skipped when read
    finally:
        server.close()


# --- symlink loops and odd names ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_symlink_loop_in_a_folder_is_one_line_and_an_update_goes_on(tmp_path: Path) -> None:
    folder = _docs(tmp_path)
    os.symlink("loop.txt", folder / "loop.txt")
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub" / "up")  # a folder loop: not followed
    store = tmp_path / ".kbqa"
    for command in ("index", "add"):  # the update path kept skipped files' documents by resolving them: a traceback
        done = _kbqa([command, "d"], tmp_path, store)
        assert _skipped(done) == ["kbqa: skipped cannot read d/loop.txt: Too many levels of symbolic links"]

    before = _snapshot(store)
    done = _kbqa(["add", "d/loop.txt"], tmp_path, store)
    assert done.returncode == 1 and _one_line(done) == "kbqa: error: no such file or folder: d/loop.txt"
    assert _snapshot(store) == before


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="file names are bytes on Linux only")
def test_a_name_that_is_not_utf8_and_escape_sequences_are_shown_escaped(tmp_path: Path) -> None:
    folder = _docs(tmp_path)
    (Path(os.fsdecode(bytes(folder))) / os.fsdecode(b"caf\xe9.txt")).write_text(GOOD + "Paris too.", encoding="utf-8")
    (folder / "red\x1b[31mX\x1b[0m\nnext.txt").write_bytes(b"\x00\x01\x02\x03" * 64)
    store = tmp_path / ".kbqa"
    done = _kbqa(["index", "d"], tmp_path, store)
    assert "\x1b" not in done.stderr + done.stdout
    assert _skipped(done) == [
        "kbqa: skipped d/caf\\udce9.txt: the file name is not valid UTF-8; rename the file to index it",
        "kbqa: skipped d/red\\x1b[31mX\\x1b[0m\\nnext.txt: not a text file (binary content)",
    ]
    assert "skipped: caf\\udce9.txt, red\\x1b[31mX" in done.stderr  # the report's list of skipped files too


def test_printable_escapes_controls_and_undecodable_bytes() -> None:
    assert printable("a\x1b[2Jb\n\tc\udce9 é ✓") == "a\\x1b[2Jb\\n\\tc\\udce9 é ✓"
    with pytest.raises(InputError, match=r"^d/caf\\udce9\.txt: the file name is not valid UTF-8"):
        list(read_files([Path("d") / os.fsdecode(b"caf\xe9.txt")]))


# --- chunk settings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("chunk_chars", "0", f"setting 'chunk_chars' must be at least {MIN_CHUNK_CHARS}, got 0"),
        ("chunk_chars", "-5", f"setting 'chunk_chars' must be at least {MIN_CHUNK_CHARS}, got -5"),
        (
            "chunk_overlap",
            "-1",
            f"setting 'chunk_overlap' must be between 0 and {MAX_CHUNK_OVERLAP} (sentences), got -1",
        ),
        (
            "chunk_overlap",
            "11",
            f"setting 'chunk_overlap' must be between 0 and {MAX_CHUNK_OVERLAP} (sentences), got 11",
        ),
    ],
)
def test_chunk_settings_out_of_range_are_one_line(
    name: str, value: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"KBQA_{name.upper()}", value)
    with pytest.raises(InputError) as err:
        load_settings(toml_path=tmp_path / "none.toml")
    assert str(err.value) == message
    monkeypatch.delenv(f"KBQA_{name.upper()}")
    (tmp_path / "kbqa.toml").write_text(f"{name} = {value}\n", encoding="utf-8")
    with pytest.raises(InputError, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        load_settings(toml_path=tmp_path / "kbqa.toml")


@pytest.mark.slow
def test_kbqa_chunk_chars_zero_stops_at_once_and_writes_nothing(tmp_path: Path) -> None:
    _docs(tmp_path)
    store = tmp_path / ".kbqa"
    for value in ("0", "-5"):
        done = _kbqa(["index", "d"], tmp_path, store, env={"KBQA_CHUNK_CHARS": value})
        assert done.returncode == 1
        assert _one_line(done) == f"kbqa: error: setting 'chunk_chars' must be at least {MIN_CHUNK_CHARS}, got {value}"
    assert not store.exists()


def test_the_chunker_refuses_sizes_that_would_loop() -> None:
    (doc,) = clean_document(GOOD * 3, "a.txt")
    for chars, overlap, match in (
        (0, 1, "'chunk_chars' must be at least 1"),
        (-5, 0, "at least 1"),
        (100, -1, "negative"),
    ):
        with pytest.raises(InputError, match=match):
            chunk_document(doc, chars, overlap)
    assert chunk_document(doc, 1, 0)  # the smallest size still ends


# --- formats: CRLF front matter, UTF-16 without BOM --------------------------------------------------------


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_markdown_front_matter_with_crlf_or_cr_is_read(newline: str) -> None:
    text = newline.join(["---", "title: Lakes of Hanoi", "date: 2024-05-01", "author: An", "---", "", GOOD])
    loaded = load_bytes(text.encode("utf-8"), ".md", "x.md")
    assert (loaded.date, loaded.author) == ("2024-05-01", "An")
    assert loaded.text.split("\n")[0] == "Lakes of Hanoi" and "---" not in loaded.text and "\r" not in loaded.text


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read(encoding: str, tmp_path: Path) -> None:
    path = tmp_path / "v.txt"
    path.write_bytes(VIETNAMESE.encode(encoding))
    assert load_file(path).text == VIETNAMESE
    assert load_bytes(("---\ntitle: T\n---\n" + VIETNAMESE).encode(encoding), ".md", "v.md").text.startswith("T\n")


def test_binary_with_nuls_is_still_refused() -> None:
    for data in (b"\x00\x01\x02\x03" * 64, bytes(range(256)) * 4, b"\x00" * 512, b"A\x00\x00\xd8" * 64):
        with pytest.raises(InputError, match="binary|UTF-16"):
            load_bytes(data, ".txt", "b.txt")
