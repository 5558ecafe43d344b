"""The Gradio chat page: questions with streamed, cited answers; example questions; documents; settings."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import gradio as gr

from kbqa.config import Settings
from kbqa.errors import InputError
from kbqa.qa.chain import Assistant
from kbqa.ui import layout, render, wiring
from kbqa.ui.service import ChatService

log = logging.getLogger(__name__)
ASSETS = "kbqa.ui"  # the package whose files chat.css and chat.js are (shipped in the wheel: pyproject package-data)


def asset(name: str) -> str:
    """The text of one of the page's files (chat.css, chat.js)."""
    return resources.files(ASSETS).joinpath(name).read_text(encoding="utf-8")


def page_css() -> str:
    """The page's styles: answers, citations, source cards, notices."""
    return asset("chat.css")


def page_head() -> str:
    """What the page adds to its <head>: the script for the cited cards, the plain-text copy and the labels."""
    return f"<script>\n{asset('chat.js')}</script>\n"


def build_app(service: ChatService, banner: str | None = None) -> gr.Blocks:
    """The chat page over `service`; `banner`: a warning shown at the top (the page is exposed)."""
    with gr.Blocks(title=layout.TITLE, analytics_enabled=False, fill_height=True) as app:
        page = layout.build_layout(service.settings, service.llm_status(), banner)
        wiring.connect(app, page, service)
    return app


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    """'user:pass' → (user, pass)."""
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise InputError("--auth must look like user:password")
    return user, password


def launch(
    service: ChatService,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    share: bool = False,
    block: bool = True,
) -> gr.Blocks:
    """Serve the page; with `block=False` return at once (the caller closes the app). Warns (a logged notice and
    a banner) when the page is reachable beyond this machine without a password."""
    warning = render.exposure_warning(host, share, auth)
    if warning:
        log.warning("%s", warning)
    app = build_app(service, banner=warning)
    app.queue(default_concurrency_limit=2)
    app.launch(
        server_name=host,
        server_port=port,
        auth=parse_auth(auth),
        share=share,
        prevent_thread_lock=not block,
        css=page_css(),
        head=page_head(),
        footer_links=[],
        quiet=not block,
        allowed_paths=[],
    )
    return app


def serve(
    assistant: Assistant | None,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    share: bool = False,
    docs: str | Path | None = None,
    settings: Settings | None = None,
) -> None:
    """`kbqa chat`: serve the page for `assistant` (or, without an index yet, for `settings`)."""
    service = ChatService(settings or assistant.settings, assistant, docs)
    launch(service, host, port, auth, share, block=True)
