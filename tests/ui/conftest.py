"""The chat app served on a free loopback port over a copy of the seed index, and a headless Debian chromium."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kbqa.config import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--window-size=1400,1000",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chat_service(seed_settings: Settings, tmp_path_factory: pytest.TempPathFactory):
    """A ChatService over a private copy of the seed index (uploads must not change the session's index)."""
    from kbqa.qa.chain import Assistant
    from kbqa.ui.service import ChatService

    root = tmp_path_factory.mktemp("chat")
    store = root / ".kbqa"
    shutil.copytree(seed_settings.store, store, ignore=shutil.ignore_patterns("write.lock"))
    settings = Settings(store=str(store))
    return ChatService(settings, Assistant(settings), docs_dir=root / "kbqa-docs")


@pytest.fixture(scope="module")
def chat_url(chat_service) -> Iterator[str]:
    from kbqa.ui.app import launch

    port = free_port()
    app = launch(chat_service, host="127.0.0.1", port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("Debian chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="kbqa-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
