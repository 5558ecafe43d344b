"""Questions that are not valid UTF-8, hold control characters or are too long: one answer or one line each."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kbqa.errors import InputError
from kbqa.qa.chain import MAX_QUESTION_CHARS, clean_question
from tests.conftest import ROOT


def _kbqa(
    args: list[bytes], store: str, stdin: bytes | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, arguments and stdin as raw bytes (as a shell would pass them)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KBQA_STORE": store, **(env or {})}
    cmd = [os.fsencode(sys.executable), b"-m", b"kbqa.cli", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, input=stdin, capture_output=True, timeout=300)


def test_invalid_utf8_and_controls_become_replacement_characters_and_spaces():
    argv = b"Korea \xff\xfe US?".decode("utf-8", "surrogateescape")  # what Python makes of such bytes
    assert clean_question(argv) == "Korea \ufffd\ufffd US?"
    assert clean_question("a\x00b\x07c\u200bd\ud800") == "a b c d\ufffd\ufffd\ufffd"  # lone surrogate: 3 bytes
    with pytest.raises(InputError, match="the question is empty"):
        clean_question("\x00 \x07")
    with pytest.raises(InputError, match=f"limit is {MAX_QUESTION_CHARS:,}"):
        clean_question("a" * (MAX_QUESTION_CHARS + 1))


def test_cli_answers_an_invalid_utf8_question_and_a_batch_goes_on(seed_settings):
    done = _kbqa([b"ask", b"--json", b"Korea US technologies \xff\xfe?"], seed_settings.store)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["question"] == "Korea US technologies \ufffd\ufffd?" and answer["found"]

    lines = b"\n".join(
        [
            b"Which technologies did Korea and the US agree on?",
            b"\xff\xfe\x00 broken line",
            b"a" * (MAX_QUESTION_CHARS + 10),
            "Khi nào Mỹ và Trung Quốc đàm phán về AI?".encode(),
        ]
    )
    done = _kbqa([b"ask", b"--json"], seed_settings.store, stdin=lines + b"\n")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert len(rows) == 4
    assert rows[0]["found"] and rows[3]["found"]
    assert rows[1]["question"].startswith("\ufffd\ufffd") and "error" not in rows[1]
    assert "limit is 2,000" in rows[2]["error"]

    done = _kbqa([b"ask", b"a" * (MAX_QUESTION_CHARS + 1)], seed_settings.store)
    assert done.returncode == 1 and done.stderr.decode().count("\n") == 1 and b"limit is" in done.stderr


def test_the_limits_are_settings(seed_settings, tmp_path):
    done = _kbqa(
        [b"ask", b"a question of forty-odd characters, too long"],
        seed_settings.store,
        env={"KBQA_MAX_QUESTION_CHARS": "20"},
    )
    assert done.returncode == 1 and b"the limit is 20\n" in done.stderr and done.stderr.count(b"\n") == 1
    big = tmp_path / "big.txt"
    big.write_text("Tiêu đề\n\n" + "Một câu dài về thời tiết. " * 60_000, encoding="utf-8")  # ~1.6 MB
    done = _kbqa([b"add", os.fsencode(big)], str(tmp_path / ".kbqa"), env={"KBQA_MAX_FILE_MB": "1"})
    assert done.returncode == 1 and done.stderr.count(b"\n") == 1
    assert b"file too large" in done.stderr and b"the limit is 1 MB" in done.stderr
