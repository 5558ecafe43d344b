"""The `kbqa` command on a postgresql:// store (flag and KBQA_STORE), as a user runs it against a real server:
every command works, bad input is one line, and the password is never printed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from kbqa.config import Settings
from tests.conftest import ROOT
from tests.qa.test_cli import KOREA_Q, kbqa

# slow: every command as a subprocess on a PostgreSQL server, ~8 s on 2 cores
pytestmark = pytest.mark.slow

pytest_plugins = ["tests.pgfixture"]  # the `pg_url` fixture: a fresh database on a real server

SECRET = "s3cret-pw"


def with_password(url: str) -> str:
    """`url` with a password (the test server trusts its Unix socket, so any password is accepted)."""
    parts = urlsplit(url)
    user = parts.username or "postgres"
    netloc = f"{user}:{SECRET}@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def test_every_command_on_a_server_store(pg_url, seed_settings, tmp_path):
    url = with_password(pg_url)
    env = {"KBQA_STORE": url, "KBQA_CACHE": seed_settings.cache}
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(ROOT / "seeds" / "000_f8aa576ae32182a5.txt", docs)
    runs = [kbqa("index", "docs", cwd=tmp_path, env=env)]
    runs.append(kbqa("add", str(ROOT / "seeds" / "001_50a620779101e8ab.txt"), cwd=tmp_path, env=env))
    runs.append(kbqa("list", "--json", cwd=tmp_path, env=env))
    listed = [json.loads(line) for line in runs[-1].stdout.splitlines()]
    assert len(listed) == 25 and {d["source"] for d in listed} >= {"docs/000_f8aa576ae32182a5.txt"}
    runs.append(kbqa("ask", "--json", "--store", url, KOREA_Q, cwd=tmp_path))  # the flag, no KBQA_STORE
    assert json.loads(runs[-1].stdout)["citations"][0]["doc_id"] == "docs/000_f8aa576ae32182a5.txt"
    runs.append(kbqa("remove", str(ROOT / "seeds" / "001_50a620779101e8ab.txt"), cwd=tmp_path, env=env))
    assert len(runs[-1].stdout.splitlines()) == 24
    runs.append(kbqa("check", cwd=tmp_path, env=env))
    assert "is sound: 1 document(s), 3 chunk(s)" in runs[-1].stderr
    runs.append(kbqa("migrate", "--from", url, "--to", str(tmp_path / "copy"), cwd=tmp_path))
    assert "moved 1 document(s), 3 chunk(s)" in runs[-1].stderr and "migrating: 1/1" in runs[-1].stderr
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert SECRET not in run.stdout + run.stderr
    assert "postgres@" in runs[-1].stderr  # the store is named, without its password


def test_bad_input_on_a_server_store_is_one_line_without_the_password(pg_url, tmp_path):
    url = with_password(pg_url)
    unreachable = f"postgresql://kbqa:{SECRET}@127.0.0.1:9/news"
    runs = {
        "no index": kbqa("ask", "--store", url, "x", cwd=tmp_path),
        "no index to list": kbqa("list", "--store", url, cwd=tmp_path),
        "unreachable": kbqa("check", "--store", unreachable, cwd=tmp_path),
        "unreachable list": kbqa("list", "--store", unreachable, cwd=tmp_path),
        "same store": kbqa("migrate", "--from", url, "--to", url, cwd=tmp_path),
        "missing source": kbqa("migrate", "--from", str(tmp_path / "none"), "--to", url, cwd=tmp_path),
        "eval url": kbqa("eval", "--corpus", "c", "--questions", "q", "--store-url", "/tmp/x", cwd=tmp_path),
    }
    for name, run in runs.items():
        assert run.returncode == 1, (name, run.stderr)
        assert run.stderr.startswith("kbqa: error: ") and run.stderr.count("\n") == 1, (name, run.stderr)
        assert SECRET not in run.stderr, name
    assert "cannot connect to the store postgresql://kbqa@127.0.0.1:9/news" in runs["unreachable"].stderr
    checked = kbqa("check", "--store", url, cwd=tmp_path)
    assert checked.returncode == 0 and "no index at postgresql://postgres@" in checked.stderr


def test_chat_on_a_server_store_uploads_to_kbqa_docs_asks_and_removes(pg_url, seed_settings, tmp_path, monkeypatch):
    from kbqa.ui.service import ChatService, default_docs_dir

    assert default_docs_dir(Settings(store="postgresql://kbqa:pw@db.example/news")) == Path("kbqa-docs")
    assert default_docs_dir(Settings(store="/data/news/.kbqa")) == Path("/data/news/kbqa-docs")
    monkeypatch.chdir(tmp_path)
    service = ChatService(Settings(store=with_password(pg_url), cache=seed_settings.cache))
    assert service.documents() == []  # no index yet: the page works and lists nothing
    article = tmp_path / "kangaroo.md"
    article.write_text("# Chuột túi ở Úc\n\nChuột túi là loài thú có túi sống ở Úc và nhảy rất xa.\n", encoding="utf-8")
    added = service.add_files([article])
    assert added.startswith("Added kangaroo.md") and SECRET not in added
    assert (tmp_path / "kbqa-docs" / "kangaroo.md").is_file()
    answer = service.assistant.ask("Chuột túi sống ở đâu?")
    assert answer.found and answer.citations[0].passage.source == "kbqa-docs/kangaroo.md"
    assert service.remove("kbqa-docs/kangaroo.md").startswith("Removed kangaroo.md")
    assert service.documents() == [] and not (tmp_path / "kbqa-docs" / "kangaroo.md").exists()
