"""The Gradio chat page: questions with streamed, cited answers; example questions; documents; settings."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no telemetry

import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from kbqa.errors import InputError, KbqaError
from kbqa.index.loaders import SUPPORTED_SUFFIXES
from kbqa.qa.answer import Answer
from kbqa.qa.chain import Delta, Retrieved
from kbqa.qa.followup import Rewrite
from kbqa.ui import render
from kbqa.ui.service import ChatService

EXAMPLES = [
    "Which technologies did Korea and the US agree on?",
    "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?",
    "Khi nào Mỹ và Trung Quốc đàm phán về AI?",
    "Hai nước sẽ đầu tư bao nhiêu cho hợp tác nghiên cứu sinh học?",
]

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
.kbqa-note { font-size: .85em; opacity: .75; margin-top: .3em; }
.kbqa-status { font-size: .9em; opacity: .7; font-style: italic; }
.kbqa-card.kbqa-closest { border-style: dashed; }
.kbqa-closest-label { margin-top: .6em; font-size: .85em; font-weight: 600; opacity: .8; }
strong.kbqa-mark { font-weight: 700; }
.kbqa-actions { margin-top: .4em; text-align: right; }
button.kbqa-copy { font-size: .8em; padding: .1em .6em; border: 1px solid var(--border-color-primary);
  border-radius: 6px; background: var(--background-fill-primary); cursor: pointer; }
.kbqa-banner { border: 1px solid #b45309; background: #fef3c7; color: #78350f; border-radius: 8px;
  padding: .5em .8em; font-weight: 600; }
ul.kbqa-docs { font-size: .85em; max-height: 320px; overflow-y: auto; margin: 0; padding-left: 1.1em;
  overflow-wrap: anywhere; }
ul.kbqa-docs .kbqa-meta { opacity: .7; }
.kbqa-unverified { text-decoration: underline wavy #d97706; text-underline-offset: 3px; }
.kbqa-flag { font-size: .75em; color: #b45309; white-space: nowrap; }
.kbqa-card.kbqa-card-unverified { border-color: #d97706; }
.kbqa-llm-status { font-size: .85em; opacity: .8; }
.kbqa-llm-status.kbqa-error { color: var(--error-text-color, #b91c1c); opacity: 1; }
"""

# Clicking an [n] marker opens source card n of the same answer and brings it into view.
# The copy button copies the message's plain text (Gradio's own button would copy its HTML).
# Gradio labels each message "bot's message: <its content>", which for our messages is markup: the label is
# replaced by the plain text the message carries in data-kbqa-plain, whenever the chat changes.
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
document.addEventListener("click", async (event) => {
  const button = event.target.closest && event.target.closest("button.kbqa-copy");
  if (!button) return;
  event.preventDefault();
  event.stopPropagation();
  const text = button.dataset.copy || "";
  try {
    await navigator.clipboard.writeText(text);
  } catch (error) {  // no clipboard API (a page served over plain http to another machine): the old way
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 1500);
}, true);
// An opened card scrolls its document context to the passage.
document.addEventListener("toggle", (event) => {
  const card = event.target;
  if (!card.classList || !card.classList.contains("kbqa-card") || !card.open) return;
  const box = card.querySelector(".kbqa-context");
  const passage = box && box.querySelector(".kbqa-passage");
  if (passage) box.scrollTop = passage.offsetTop - box.offsetTop - 24;
}, true);
function kbqaLabelMessages() {
  for (const content of document.querySelectorAll("#kbqa-chat [data-kbqa-plain]")) {
    const message = content.parentElement && content.parentElement.closest("[aria-label]");
    if (!message) continue;
    const role = message.getAttribute("data-testid") === "user" ? "You" : "Assistant";
    const label = `${role}: ${content.dataset.kbqaPlain}`;
    if (message.getAttribute("aria-label") !== label) message.setAttribute("aria-label", label);
  }
}
new MutationObserver(kbqaLabelMessages).observe(document.documentElement, {
  subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ["aria-label"],
});
</script>
"""


def _message(role: str, html: str) -> dict:
    return {"role": role, "content": html}


def build_app(service: ChatService, banner: str | None = None) -> gr.Blocks:
    """The chat page over `service`; `banner`: a warning shown at the top (the page is exposed)."""

    def respond(question: str, history: list, queries: list[str], k: float) -> Iterator[tuple]:
        history = list(history or [])
        question = (question or "").strip()
        # The question and a placeholder show at once, before any work starts.
        history.append(_message("user", render.user_html(question)))
        history.append(_message("assistant", render.pending_html("Searching…")))
        yield "", history, queries
        shown: str | None = None  # the rewritten query, when it differs from the question
        query = question
        text = ""
        try:
            for event in service.stream(question, queries[-1] if queries else None, int(k)):
                if isinstance(event, Rewrite):
                    query, shown = event.query, (event.query if event.rewritten else None)
                    history[-1] = _message("assistant", render.pending_html("Searching…", shown))
                elif isinstance(event, Retrieved):
                    status = f"Reading {len(event.passages)} passage{'s' if len(event.passages) != 1 else ''}…"
                    history[-1] = _message("assistant", render.pending_html(status, shown))
                elif isinstance(event, Delta):
                    text += event.text  # an LLM's tokens as they come (ChatService spaces an extractive one's claims)
                    history[-1] = _message("assistant", render.pending_html("Writing…", shown, text))
                elif isinstance(event, Answer):
                    anchor = f"a{len(history)}-{int(time.time() * 1000) % 100000}"
                    html = render.message_html(event, anchor, service.document_text, shown, service.docs_dir)
                    history[-1] = _message("assistant", html)
                    yield "", history, [*queries, query]
                    return
                else:
                    continue
                yield "", history, queries
            raise RuntimeError("the assistant stopped without an answer")
        except KbqaError as exc:
            history[-1] = _message("assistant", render.notice_html(render.scrub_paths(str(exc))))
            yield "", history, queries
        except Exception as exc:  # not the user's doing: logged in full, said in one (path-free) line in the chat
            traceback.print_exc()
            message = render.scrub_paths(f"Something went wrong: {type(exc).__name__}: {exc}")
            history[-1] = _message("assistant", render.notice_html(message))
            yield "", history, queries

    def documents_view() -> tuple[str, Any]:
        documents = service.documents()
        choices = [(service.source_label(s), s) for s in dict.fromkeys(d["source"] for d in documents)]
        return render.documents_html(documents, service.docs_dir), gr.update(choices=choices, value=None)

    def upload(files: list[str] | None, history: list, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple:  # noqa: B008
        history = list(history or [])
        try:
            progress(0, desc="Indexing the upload…")
            if not files:
                raise InputError("no file was uploaded")
            history.append(_message("assistant", render.notice_html(service.add_files(files), "ok")))
        except KbqaError as exc:
            history.append(_message("assistant", render.notice_html(render.scrub_paths(f"Upload failed: {exc}"))))
        return (history, None, *documents_view())

    def remove(source: str | None, history: list) -> tuple:
        history = list(history or [])
        try:
            history.append(_message("assistant", render.notice_html(service.remove(source or ""), "info")))
        except KbqaError as exc:
            history.append(_message("assistant", render.notice_html(render.scrub_paths(f"Remove failed: {exc}"))))
        return (history, *documents_view())

    def choose_llm(spec: str, base_url: str) -> str:
        """The model setting changed: answer the next question with it (or say in one line why not)."""
        try:
            return render.llm_status_html(service.set_llm(spec or "", base_url or ""))
        except KbqaError as exc:
            return render.llm_status_html(service.llm_status(), render.scrub_paths(str(exc)))

    def llm_view() -> tuple[str, str, str]:
        """The model setting as it stands (another page may have changed it since this one was built)."""
        settings = service.settings
        return settings.llm, settings.llm_base_url, render.llm_status_html(service.llm_status())

    def clear() -> tuple:
        return [], [], ""

    def forget() -> list:
        return []

    with gr.Blocks(title="kbqa: ask your documents", analytics_enabled=False, fill_height=True) as app:
        queries = gr.State([])  # the standalone query of each answered turn, for follow-ups
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                if banner:
                    gr.HTML(render.banner_html(banner), elem_id="kbqa-banner")
                gr.Markdown("## kbqa · ask your documents\nAnswers quote your documents; click a [n] or a source.")
                chat = gr.Chatbot(
                    elem_id="kbqa-chat",
                    height=560,
                    sanitize_html=False,  # every text in it is escaped by kbqa.ui.render; the markup is ours
                    latex_delimiters=[],
                    line_breaks=False,
                    feedback_options=None,
                    buttons=[],  # Gradio's copy button copies a message's HTML: each answer has its own text copy
                    group_consecutive_messages=False,  # a notice after an answer is a message of its own
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
                with gr.Accordion("Settings", open=False, elem_id="kbqa-settings"):
                    k = gr.Slider(1, 10, value=service.settings.k, step=1, label="Passages retrieved per question")
                    llm, llm_url, use_llm, llm_status = _llm_controls(service, editable=banner is None)

        question.submit(respond, [question, chat, queries, k], [question, chat, queries])
        new_chat.click(clear, None, [chat, queries, question])
        chat.clear(forget, None, queries)  # the chat's own trash button: follow-ups must not use the old turns
        files.upload(upload, [files, chat], [chat, files, docs, chosen])
        remove_btn.click(remove, [chosen, chat], [chat, docs, chosen])
        app.load(documents_view, None, [docs, chosen])
        app.load(llm_view, None, [llm, llm_url, llm_status])
        if use_llm is not None:  # no endpoint at all when the page is exposed without a password
            for trigger in (use_llm.click, llm.submit, llm_url.submit):
                trigger(choose_llm, [llm, llm_url], llm_status)
    return app


def _llm_controls(service: ChatService, editable: bool) -> tuple[gr.Textbox, gr.Textbox, gr.Button | None, gr.HTML]:
    """The model setting: its spec (empty: extractive), the server URL, the button that applies them, the status
    line. Not `editable` when the page is exposed without a password: a visitor could point the server (and the
    OPENAI_API_KEY it sends) at a host of theirs, or load any file as a model."""
    settings = service.settings
    spec = gr.Textbox(
        value=settings.llm,
        label="Language model (empty: quote the documents, no model)"
        if editable
        else "Language model (set with kbqa chat --llm: not changeable on a page served without --auth)",
        placeholder="ollama:qwen2.5:7b · openai:gpt-4o-mini · openai:local · llamacpp:/models/m.gguf",
        elem_id="kbqa-llm",
        interactive=editable,
        max_lines=1,
    )
    url = gr.Textbox(
        value=settings.llm_base_url,
        label="Model server URL (openai:/ollama:; empty: the default)",
        placeholder="http://127.0.0.1:8000/v1",
        elem_id="kbqa-llm-url",
        interactive=editable,
        max_lines=1,
    )
    apply = gr.Button("Use this model", size="sm", elem_id="kbqa-llm-apply") if editable else None
    status = gr.HTML(render.llm_status_html(service.llm_status()), elem_id="kbqa-llm-status")
    return spec, url, apply, status


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
    """Serve the page; with `block=False` return at once (the caller closes the app). Warns (stderr and a banner)
    when the page is reachable beyond this machine without a password."""
    warning = render.exposure_warning(host, share, auth)
    if warning:
        print(f"kbqa: {warning}", file=sys.stderr)
    app = build_app(service, banner=warning)
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
