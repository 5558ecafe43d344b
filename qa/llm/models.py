"""A LangChain chat model from a spec: `ollama:<model>`, `openai:<model>`, `llamacpp:<path.gguf>`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from kbqa.config import Settings
from kbqa.errors import InputError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

EXTRA = 'pip install -e ".[llm]"'
PREFIXES = ("ollama", "openai", "llamacpp")


def chat_model(
    spec: str,
    base_url: str = "",
    timeout: float = Settings.llm_timeout,
    max_tokens: int = Settings.llm_max_tokens,
) -> BaseChatModel:
    """The chat model `spec` names. `base_url`: the server (any OpenAI-compatible one for `openai:`; Ollama's
    for `ollama:`); `timeout`: seconds for one request (llm_timeout); `max_tokens`: the reply's cap
    (llm_max_tokens). Raises InputError (one line) for an unknown prefix or a missing package."""
    prefix, _, name = spec.strip().partition(":")
    prefix = prefix.lower()
    if prefix not in PREFIXES or not name.strip():
        raise InputError(f"llm '{spec}' must be one of ollama:<model>, openai:<model>, llamacpp:<path.gguf>")
    name = name.strip()
    if prefix == "ollama":
        return _ollama(name, base_url, timeout, max_tokens)
    if prefix == "openai":
        return _openai(name, base_url, timeout, max_tokens)
    return _llamacpp(name, max_tokens)


def _missing(package: str, spec: str) -> InputError:
    return InputError(f"llm '{spec}' needs the package {package}: {EXTRA}")


def _ollama(name: str, base_url: str, timeout: float, max_tokens: int) -> BaseChatModel:
    try:
        from langchain_ollama import ChatOllama
    except ImportError:
        raise _missing("langchain-ollama", f"ollama:{name}") from None
    extra = {"base_url": base_url} if base_url else {}
    return ChatOllama(model=name, temperature=0, num_predict=max_tokens, client_kwargs={"timeout": timeout}, **extra)


def _openai(name: str, base_url: str, timeout: float, max_tokens: int) -> BaseChatModel:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise _missing("langchain-openai", f"openai:{name}") from None
    key = os.environ.get("OPENAI_API_KEY", "")
    if not key and not base_url:
        raise InputError(f"llm 'openai:{name}' needs OPENAI_API_KEY (or --llm-base-url for a local server)")
    # A local OpenAI-compatible server (llama.cpp, vLLM, LM Studio) takes any key; the client insists on one. The
    # client sends the cap as max_completion_tokens, which llama-cpp-python's server ignores (it reads max_tokens):
    # replies of 11,000 characters, 187 s, on the fixture model; so servers get max_tokens too.
    extra = {"base_url": base_url, "extra_body": {"max_tokens": max_tokens}} if base_url else {}
    return ChatOpenAI(
        model=name,
        api_key=key or "not-needed",
        temperature=0,
        max_tokens=max_tokens,
        timeout=timeout,
        max_retries=1,
        **extra,
    )


def _llamacpp(path: str, max_tokens: int) -> BaseChatModel:
    if not os.path.isfile(path):
        raise InputError(f"llm 'llamacpp:{path}': no such model file")
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise _missing("llama-cpp-python", f"llamacpp:{path}") from None
    from kbqa.qa.llm.llamacpp import LlamaCppChat

    return LlamaCppChat.load(path, max_tokens=max_tokens)  # in process: no request to time out
