"""PostgreSQL passwords are never printed (userinfo, a `password=` parameter, error texts echoing the DSN), and a
server that accepts connections but never answers gives one line within the connect timeout instead of a hang."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from kbqa.errors import InputError
from kbqa.index.store.api import display, open_store, scrub
from tests.conftest import ROOT

pytest_plugins = ["tests.pgfixture"]  # the `pg_url` fixture: a fresh database on a real server

SECRET = "hunter2secret"


def kbqa(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, str, float]:
    """Exit code, stderr and wall seconds of `kbqa ARGS` in a subprocess (killed past `timeout`: a hang fails)."""
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "kbqa.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=timeout,
    )
    return result.returncode, result.stderr + result.stdout, time.monotonic() - began


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def in_userinfo(url: str) -> str:
    """`url` with SECRET as its password (the test server trusts its Unix socket: any password is accepted)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}:{SECRET}@{parts.hostname or ''}"))


def in_query(url: str) -> str:
    """`url` with SECRET as a `password=` parameter."""
    return url + ("&" if "?" in url else "?") + f"password={SECRET}"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql://u:{SECRET}@h/db", "postgresql://u@h/db"),
        (f"postgresql://u@h/db?password={SECRET}", "postgresql://u@h/db"),
        (f"postgres://u@h:5/db?sslmode=require&password={SECRET}&x=1", "postgres://u@h:5/db?sslmode=require&x=1"),
        (f"postgresql://u@h/db?PASSWORD={SECRET}&sslmode=require", "postgresql://u@h/db?sslmode=require"),
        (".kbqa", ".kbqa"),
    ],
)
def test_display_hides_every_form_of_password(url: str, shown: str):
    assert display(url) == shown


def test_scrub_hides_a_dsn_echoed_in_an_error():
    location = f"postgresql://u:{SECRET}%zz@h/db"
    assert SECRET not in scrub(f'invalid percent-encoded token: "{SECRET}%zz"', location)
    assert SECRET not in scrub(f"bad dsn: host=h password={SECRET} port=1")
    assert SECRET not in scrub(f"bad dsn: host=h password='{SECRET} x' port=1")


@pytest.mark.parametrize("form", [in_userinfo, in_query])
def test_a_connection_error_is_one_line_without_the_password(pg_url: str, form):
    wrong = form(with_database(pg_url, "kbqa_no_such_database"))
    with pytest.raises(InputError) as failed:
        open_store(wrong)
    message = str(failed.value)
    assert SECRET not in message and "\n" not in message and "cannot connect" in message, message


def test_an_error_echoing_the_dsn_is_scrubbed(pg_url: str):
    parts = urlsplit(pg_url)
    echoed = urlunsplit(parts._replace(netloc=f"postgres:{SECRET}%zz@"))  # libpq echoes a bad %-token
    with pytest.raises(InputError) as failed:
        open_store(echoed)
    assert SECRET not in str(failed.value) and "\n" not in str(failed.value), failed.value


@pytest.mark.slow
@pytest.mark.parametrize("form", [in_userinfo, in_query])
def test_check_prints_the_location_without_the_password(pg_url: str, tmp_path: Path, form):
    code, out, _ = kbqa("check", "--store", form(pg_url), cwd=tmp_path, env={"KBQA_CACHE": str(tmp_path / "c")})
    assert code == 0 and SECRET not in out and display(pg_url) in out, out
    wrong = form(with_database(pg_url, "kbqa_no_such_database"))
    code, out, _ = kbqa("check", "--store", wrong, cwd=tmp_path, env={"KBQA_CACHE": str(tmp_path / "c")})
    assert code == 1 and SECRET not in out and out.count("\n") == 1, out


def test_statement_and_lock_timeouts_reach_the_pool(pg_url: str):
    from kbqa.config import Settings
    from kbqa.index.store.postgres import schema

    settings = Settings(pg_statement_timeout=0.5, pg_lock_timeout=7)  # in code: the library reads no environment
    with schema.pool(pg_url, size=1, settings=settings).connection() as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "500ms"
        assert conn.execute("SHOW lock_timeout").fetchone()[0] == "7s"
        with pytest.raises(Exception, match="statement timeout"):  # noqa: PT011 - psycopg's QueryCanceled
            conn.execute("SELECT pg_sleep(3)")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """The port of a TCP listener on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for each in held:
        each.close()
    listener.close()


@pytest.mark.slow
@pytest.mark.parametrize("command", [("check",), ("index", "docs"), ("ask", "How many otters?")])
def test_a_server_that_never_answers_is_one_line_within_the_timeout(silent_server: int, tmp_path: Path, command):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("Otters\n\nRangers counted twenty-seven otters.\n", encoding="utf-8")
    url = f"postgresql://u:{SECRET}@127.0.0.1:{silent_server}/db?password={SECRET}x"
    env = {"KBQA_PG_CONNECT_TIMEOUT": "2", "KBQA_STORE": url, "KBQA_CACHE": str(tmp_path / "cache")}
    code, out, took = kbqa(*command, cwd=tmp_path, env=env, timeout=60)
    assert code == 1 and out.count("\n") == 1 and "timeout" in out and SECRET not in out, out
    assert took < 10, took  # the default connect timeout alone is 10 s
