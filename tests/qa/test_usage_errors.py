"""Usage errors (bad option, bad value, unknown command) are one `kbqa: error: …` line; --help is click's own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from kbqa.cli import main
from tests.conftest import ROOT

USAGE_ERRORS = [
    (["ask", "--k", "notanumber", "x"], "Invalid value for '--k': 'notanumber' is not a valid integer."),
    (["ask", "--kk", "3", "x"], "No such option '--kk'. Did you mean '--k'?"),
    (["--bogus"], "No such option '--bogus'."),
    (["nosuch"], "No such command 'nosuch'."),
    (["index", "--rebuild=3"], "Option '--rebuild' does not take a value."),
    (["add"], "Missing argument 'PATHS...'."),
    (["eval", "--retriever", "magic", "--corpus", "c", "--questions", "q"], "Invalid value for '--retriever'"),
]


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS)
def test_a_usage_error_is_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args, prog_name="kbqa")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"kbqa: error: {message}"), result.stderr
    assert "Usage:" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["ask", "--help"], ["index", "-h"], ["add", "--help"], []])
def test_help_is_unchanged(args: list[str]) -> None:
    result = CliRunner().invoke(main, args, prog_name="kbqa")
    assert result.exit_code == (2 if not args else 0)  # a bare `kbqa` shows the help as click does, exit 2
    assert result.output.startswith("Usage: kbqa") and "Options:" in result.output
    assert "error" not in result.output.lower().split("options:")[0]


def test_the_real_cli_prints_one_line(tmp_path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KBQA_STORE": str(tmp_path / ".kbqa")}
    done = subprocess.run(
        [sys.executable, "-m", "kbqa", "ask", "--k", "notanumber", "x"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "kbqa: error: Invalid value for '--k': 'notanumber' is not a valid integer.\n"
    assert not (tmp_path / ".kbqa").exists()


@pytest.mark.slow
def test_an_emoji_only_question_is_one_line_and_a_batch_goes_on(seed_settings) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KBQA_STORE": seed_settings.store}
    for question in ("😀😀", "😀", "🇻🇳 ❤️ 👍🏽 ?!"):
        done = subprocess.run(
            [sys.executable, "-m", "kbqa", "ask", question],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 1 and done.stdout == "", done.stdout
        assert (
            done.stderr == "kbqa: error: the question has no words to search for (only emoji, symbols or punctuation)\n"
        )
    lines = "😀😀\nWhich technologies did Korea and the US agree on?\n"
    done = subprocess.run(
        [sys.executable, "-m", "kbqa", "ask"],
        cwd=ROOT,
        env=env,
        input=lines,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    first, second = done.stdout.splitlines()
    assert first.startswith("error: the question has no words") and not second.startswith("error")
