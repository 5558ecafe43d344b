"""The chat page's components and where they sit (no behaviour: kbqa.ui.wiring connects them)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from kbqa.config import Settings
from kbqa.index.loaders import SUPPORTED_SUFFIXES
from kbqa.ui import render

TITLE = "kbqa: ask your documents"
EXAMPLES = [
    "Which technologies did Korea and the US agree on?",
    "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?",
    "Khi nào Mỹ và Trung Quốc đàm phán về AI?",
    "Hai nước sẽ đầu tư bao nhiêu cho hợp tác nghiên cứu sinh học?",
]

DAY_HINT = "2026-05-12 or 12/5/2026"


@dataclass(frozen=True)
class Conversation:
    """The left column: the chat, the question box and the button that starts a new chat."""

    chat: gr.Chatbot
    question: gr.Textbox
    new_chat: gr.Button


@dataclass(frozen=True)
class Documents:
    """The documents panel: upload, the list, the document to remove and the button that removes it."""

    files: gr.File
    docs: gr.HTML
    chosen: gr.Dropdown
    remove: gr.Button


@dataclass(frozen=True)
class ModelSetting:
    """The model setting: its spec (empty: extractive), the server URL, the button that applies them (None when
    the page may not change them), the status line."""

    spec: gr.Textbox
    url: gr.Textbox
    apply: gr.Button | None
    status: gr.HTML


@dataclass(frozen=True)
class DateRange:
    """The days the answers may come from (the Settings' From and To; blank: open), as typed."""

    since: gr.Textbox
    until: gr.Textbox


@dataclass(frozen=True)
class Page:
    """Every component an event reads or writes."""

    queries: gr.State  # the standalone query of each answered turn, for follow-ups
    conversation: Conversation
    documents: Documents
    k: gr.Slider
    dates: DateRange
    model: ModelSetting


def build_layout(settings: Settings, llm_status: str, banner: str | None = None) -> Page:
    """The page's components, inside the open `gr.Blocks`; `banner`: a warning shown at the top (the page is
    exposed, and then the model setting cannot be changed); `llm_status`: how questions are answered now."""
    queries = gr.State([])
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            conversation = _conversation(banner)
        with gr.Column(scale=2):
            documents = _documents()
            with gr.Accordion("Settings", open=False, elem_id="kbqa-settings"):
                k = gr.Slider(1, 10, value=settings.k, step=1, label="Passages retrieved per question")
                dates = _date_range()
                model = _model_setting(settings, llm_status, editable=banner is None)
    return Page(queries, conversation, documents, k, dates, model)


def _conversation(banner: str | None) -> Conversation:
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
    return Conversation(chat, question, new_chat)


def _documents() -> Documents:
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
            remove = gr.Button("Remove", variant="stop", scale=1, elem_id="kbqa-remove-btn")
    return Documents(files, docs, chosen, remove)


def _date_range() -> DateRange:
    """Two day boxes: only articles published from/to these days answer (either blank: open)."""
    gr.Markdown("Articles published (blank: any day)", elem_id="kbqa-dates-label")
    with gr.Row(elem_id="kbqa-dates"):
        since = gr.Textbox(label="From", placeholder=DAY_HINT, elem_id="kbqa-since", max_lines=1, min_width=120)
        until = gr.Textbox(label="To", placeholder=DAY_HINT, elem_id="kbqa-until", max_lines=1, min_width=120)
    return DateRange(since, until)


def _model_setting(settings: Settings, llm_status: str, editable: bool) -> ModelSetting:
    """Not `editable` when the page is exposed without a password: a visitor could point the server (and the
    OPENAI_API_KEY it sends) at a host of theirs, or load any file as a model."""
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
    status = gr.HTML(render.llm_status_html(llm_status), elem_id="kbqa-llm-status")
    return ModelSetting(spec, url, apply, status)
