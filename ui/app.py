"""The Gradio chat page: questions with streamed, cited answers; example questions; documents; settings."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no telemetry

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from index.errors import InputError, KbqaError
from index.loaders import SUPPORTED_SUFFIXES
from ui import render
from ui.service import ChatService

EXAMPLES = [
    "Which technologies did Korea and the US agree on?",
    "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?",
    "Khi nào Mỹ và Trung Quốc đàm phán về AI?",
    "Cần giữ ấm những bộ phận nào để tránh đột quỵ?",
]
MODES = ["Extractive (sentences from the sources)"]
STREAM_STEPS = 12  # the answer appears in this many steps
STREAM_PAUSE = 0.02  # seconds between steps: enough to see it arrive, not enough to wait for

CSS = """
.kbqa-answer .kbqa-rewrite { font-size: .85em; opacity: .75; margin-bottom: .4em; }
.kbqa-cite { font-size: .75em; vertical-align: super; text-decoration: none; cursor: pointer; padding: 0 .1em; }
.kbqa-sources { margin-top: .6em; display: flex; flex-direction: column; gap: .4em; }
.kbqa-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .4em .6em;
  background: var(--background-fill-secondary); }
.kbqa-card summary { cursor: pointer; list-style: none; }
.kbqa-card .kbqa-meta { font-size: .8em; opacity: .7; }
.kbqa-card .kbqa-snippet { display: block; font-size: .9em; margin-top: .25em; max-height: 7.5em; overflow: hidden; }
.kbqa-card[open] .kbqa-snippet { display: none; }
.kbqa-card .kbqa-context { font-size: .9em; max-height: 22em; overflow-y: auto; margin-top: .3em;
  white-space: normal; }
.kbqa-context .kbqa-passage { background: rgba(255, 213, 79, .18); }
mark.kbqa-hl { background: #ffe082; color: #000; border-radius: 2px; }
.kbqa-card.kbqa-flash { outline: 2px solid var(--color-accent); }
.kbqa-notice.kbqa-error { color: var(--error-text-color, #b91c1c); }
ul.kbqa-docs { font-size: .85em; max-height: 320px; overflow-y: auto; margin: 0; padding-left: 1.1em;
  overflow-wrap: anywhere; }
ul.kbqa-docs .kbqa-meta { opacity: .7; }
"""

# Clicking an [n] marker opens source card n of the same answer and brings it into view.
HEAD = """
<script>
document.addEventListener("click", (event) => {
  const cite = event.target.closest && event.target.closest("a.kbqa-cite");
  if (!cite) return;
  event.preventDefault();
  const answer = cite.closest(".kbqa-answer");
  const card = answer && answer.querySelector(`details.kbqa-card[data-n="${cite.dataset.n}"]`);
  if (!card) return;
  card.open = true;
  card.classList.add("kbqa-flash");
  setTimeout(() => card.classList.remove("kbqa-flash"), 1200);
  card.scrollIntoView({block: "nearest"});
});
// An opened card scrolls its document context to the passage.
document.addEventListener("toggle", (event) => {
  const card = event.target;
  if (!card.classList || !card.classList.contains("kbqa-card") || !card.open) return;
  const box = card.querySelector(".kbqa-context");
  const passage = box && box.querySelector(".kbqa-passage");
  if (passage) box.scrollTop = passage.offsetTop - box.offsetTop - 24;
}, true);
</script>
"""


def _message(role: str, html: str) -> dict:
    return {"role": role, "content": html}


def _stream(text: str) -> Iterator[str]:
    """Prefixes of `text` ending at word boundaries, in about STREAM_STEPS steps."""
    words = text.split(" ")
    step = max(1, len(words) // STREAM_STEPS)
    for i in range(step, len(words), step):
        yield " ".join(words[:i])


def build_app(service: ChatService) -> gr.Blocks:
    """The chat page over `service`."""

    def respond(question: str, history: list, queries: list[str], k: float, mode: str) -> Iterator[tuple]:
        history = list(history or [])
        question = (question or "").strip()
        history.append(_message("user", render.text_html(question) if question else "…"))
        try:
            reply = service.ask(question, queries[-1] if queries else None, int(k))
        except KbqaError as exc:
            history.append(_message("assistant", render.notice_html(str(exc))))
            yield "", history, queries
            return
        shown = reply.rewrite.query if reply.rewrite.rewritten else None
        history.append(_message("assistant", render.partial_html("", shown)))
        for partial in _stream(reply.answer.answer):
            history[-1] = _message("assistant", render.partial_html(partial, shown))
            yield "", history, queries
            time.sleep(STREAM_PAUSE)
        anchor = f"a{len(history)}-{int(time.time() * 1000) % 100000}"
        history[-1] = _message(
            "assistant", render.message_html(reply.answer, anchor, service.document_text, rewrite=shown)
        )
        yield "", history, [*queries, reply.rewrite.query]

    def documents_view() -> tuple[str, Any]:
        sources = service.sources()
        return render.documents_html(service.documents()), gr.update(choices=sources, value=None)

    def upload(files: list[str] | None, history: list, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple:  # noqa: B008
        history = list(history or [])
        try:
            progress(0, desc="Indexing the upload…")
            if not files:
                raise InputError("no file was uploaded")
            history.append(_message("assistant", render.notice_html(service.add_files(files), "ok")))
        except KbqaError as exc:
            history.append(_message("assistant", render.notice_html(f"Upload failed: {exc}")))
        return (history, None, *documents_view())

    def remove(source: str | None, history: list) -> tuple:
        history = list(history or [])
        try:
            history.append(_message("assistant", render.notice_html(service.remove(source or ""), "info")))
        except KbqaError as exc:
            history.append(_message("assistant", render.notice_html(f"Remove failed: {exc}")))
        return (history, *documents_view())

    def clear() -> tuple:
        return [], [], ""

    with gr.Blocks(title="kbqa: ask your documents", analytics_enabled=False, fill_height=True) as app:
        queries = gr.State([])  # the standalone query of each answered turn, for follow-ups
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                gr.Markdown("## kbqa · ask your documents\nAnswers quote your documents; click a [n] or a source.")
                chat = gr.Chatbot(
                    elem_id="kbqa-chat",
                    height=560,
                    sanitize_html=False,  # every text in it is escaped by ui.render; the markup is ours
                    latex_delimiters=[],
                    line_breaks=False,
                    feedback_options=None,
                    buttons=["copy"],
                    placeholder="Ask a question about the documents, in Vietnamese or English.",
                )
                with gr.Row():
                    question = gr.Textbox(
                        elem_id="kbqa-question",
                        placeholder="Ask a question… (e.g. Còn Trung Quốc thì sao? after a question)",
                        show_label=False,
                        scale=5,
                        submit_btn=True,
                        autofocus=True,
                    )
                    new_chat = gr.Button("New chat", scale=0, elem_id="kbqa-new")
                gr.Examples(EXAMPLES, inputs=question, label="Try")
            with gr.Column(scale=2):
                with gr.Accordion("Documents", open=True):
                    files = gr.File(
                        label=f"Add documents ({', '.join(SUPPORTED_SUFFIXES)})",
                        file_count="multiple",
                        file_types=list(SUPPORTED_SUFFIXES),
                        elem_id="kbqa-upload",
                        height=120,
                    )
                    docs = gr.HTML(elem_id="kbqa-docs")
                    with gr.Row():
                        chosen = gr.Dropdown(label="Remove a document", choices=[], scale=4, elem_id="kbqa-remove")
                        remove_btn = gr.Button("Remove", variant="stop", scale=1, elem_id="kbqa-remove-btn")
                with gr.Accordion("Settings", open=False):
                    k = gr.Slider(1, 10, value=service.settings.k, step=1, label="Passages retrieved per question")
                    mode = gr.Radio(MODES, value=MODES[0], label="Answer mode", info="LLM answers: not available yet")

        question.submit(respond, [question, chat, queries, k, mode], [question, chat, queries])
        new_chat.click(clear, None, [chat, queries, question])
        files.upload(upload, [files, chat], [chat, files, docs, chosen])
        remove_btn.click(remove, [chosen, chat], [chat, docs, chosen])
        app.load(documents_view, None, [docs, chosen])
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
    """Serve the page; with `block=False` return at once (the caller closes the app)."""
    app = build_app(service)
    app.queue(default_concurrency_limit=2)
    app.launch(
        server_name=host,
        server_port=port,
        auth=parse_auth(auth),
        share=share,
        prevent_thread_lock=not block,
        css=CSS,
        head=HEAD,
        footer_links=[],
        quiet=not block,
        allowed_paths=[],
    )
    return app


def serve(
    assistant: Any | None,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    share: bool = False,
    docs: str | Path | None = None,
    settings: Any | None = None,
) -> None:
    """`kbqa chat`: serve the page for `assistant` (or, without an index yet, for `settings`)."""
    service = ChatService(settings or assistant.settings, assistant, docs)
    launch(service, host, port, auth, share, block=True)
