"""The chat page's events: what each component does, through the ChatService (kbqa.ui.layout places them)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import gradio as gr

from kbqa.errors import InputError, KbqaError
from kbqa.logs import collect
from kbqa.qa.answer import Answer
from kbqa.qa.chain import Event
from kbqa.qa.contracts import Delta, Retrieval
from kbqa.qa.followup import Rewrite
from kbqa.qa.timeline import period_of
from kbqa.ui import render
from kbqa.ui.layout import Page
from kbqa.ui.service import ChatService

log = logging.getLogger(__name__)

Message = dict[str, str]  # a chat message as Gradio's Chatbot takes it: role and (our) HTML content
Turn = tuple[str, list[Message], list[str]]  # the question box (emptied), the chat, the answered queries
Update = dict[str, object]  # gr.update(...): new properties for a component
ProgressFn = Callable[..., object]  # gr.Progress, or a stand-in (tests)


def _message(role: str, html: str) -> Message:
    return {"role": role, "content": html}


def _outcome(line: str, kind: str, notes: list[str]) -> Message:
    """An action's outcome as a chat notice of `kind`, then the library's notices logged meanwhile (e.g. a file
    skipped, and why), one a line; a failure's and the notices' paths cut to their names."""
    shown = render.scrub_paths(line) if kind == "error" else line
    return _message("assistant", render.notice_html("\n".join([shown, *map(render.scrub_paths, notes)]), kind))


def day_error(exc: InputError) -> str:
    """The one line saying why a From/To day cannot be read, naming the boxes as the page does (not as the
    command line's --since/--until)."""
    return render.scrub_paths(str(exc)).replace("--since", "From").replace("--until", "To")


@dataclass
class Progression:
    """One turn while it is worked on: the query retrieval uses, the rewrite shown (when it differs from the
    question), the answer text so far."""

    query: str
    shown: str | None = None
    text: str = ""

    def pending_html(self, event: Rewrite | Event) -> str | None:
        """The message that stands for the answer after `event` (None: the event changes nothing shown)."""
        if isinstance(event, Rewrite):
            self.query, self.shown = event.query, (event.query if event.rewritten else None)
            return render.pending_html("Searching…", self.shown)
        if isinstance(event, Retrieval):
            status = f"Reading {len(event.passages)} passage{'s' if len(event.passages) != 1 else ''}…"
            return render.pending_html(status, self.shown)
        if isinstance(event, Delta):
            self.text += event.text  # an LLM's tokens as they come (or an extractive answer's claims)
            return render.pending_html("Writing…", self.shown, self.text)
        return None


class Handlers:
    """What the page's events call; each method's name is its Gradio endpoint's name."""

    def __init__(self, service: ChatService) -> None:
        self.service = service

    def respond(
        self, question: str, history: list[Message], queries: list[str], k: float, since: str = "", until: str = ""
    ) -> Iterator[Turn]:
        """Answer `question` in the chat, from articles published `since`..`until` (the Settings' From and To, as
        typed; blank: open): shown at once with a placeholder, then progress, then the answer. A day that cannot
        be read is said in one line instead, and the question stays in its box to be asked again."""
        history = list(history or [])
        question = (question or "").strip()
        history.append(_message("user", render.user_html(question)))
        try:
            period = period_of(since=since, until=until)
        except InputError as exc:
            history.append(_message("assistant", render.notice_html(day_error(exc))))
            yield question, history, queries
            return
        history.append(_message("assistant", render.pending_html("Searching…")))
        yield "", history, queries
        turn = Progression(query=question)
        try:
            for event in self.service.stream(question, queries[-1] if queries else None, int(k), period):
                if isinstance(event, Answer):
                    history[-1] = _message("assistant", self._answer_html(event, turn, len(history)))
                    yield "", history, [*queries, turn.query]
                    return
                html = turn.pending_html(event)
                if html is not None:
                    history[-1] = _message("assistant", html)
                    yield "", history, queries
            raise RuntimeError("the assistant stopped without an answer")
        except KbqaError as exc:
            history[-1] = _message("assistant", render.notice_html(render.scrub_paths(str(exc))))
            yield "", history, queries
        except Exception as exc:  # not the user's doing: logged in full, said in one (path-free) line in the chat
            log.exception("the chat could not answer %r", question)
            message = render.scrub_paths(f"Something went wrong: {type(exc).__name__}: {exc}")
            history[-1] = _message("assistant", render.notice_html(message))
            yield "", history, queries

    def _answer_html(self, answer: Answer, turn: Progression, turns: int) -> str:
        anchor = f"a{turns}-{int(time.time() * 1000) % 100000}"
        return render.message_html(answer, anchor, self.service.document_text, turn.shown, self.service.docs_dir)

    def documents_view(self) -> tuple[str, Update]:
        """The documents list and the choices of the document to remove."""
        documents = self.service.documents()
        choices = [(self.service.source_label(s), s) for s in dict.fromkeys(d.source for d in documents)]
        return render.documents_html(documents, self.service.docs_dir), gr.update(choices=choices, value=None)

    def upload(
        self,
        files: list[str] | None,
        history: list[Message],
        progress: ProgressFn = gr.Progress(track_tqdm=True),  # noqa: B008
    ) -> tuple[list[Message], None, str, Update]:
        """Index the uploaded files; the outcome (and the notices logged meanwhile) as a chat message."""
        history = list(history or [])
        with collect() as notes:
            try:
                progress(0, desc="Indexing the upload…")
                if not files:
                    raise InputError("no file was uploaded")
                line, kind = self.service.add_files(files), "ok"
            except KbqaError as exc:
                line, kind = f"Upload failed: {exc}", "error"
        history.append(_outcome(line, kind, notes.take()))
        return (history, None, *self.documents_view())

    def remove(self, source: str | None, history: list[Message]) -> tuple[list[Message], str, Update]:
        """Remove the chosen document; the outcome (and the notices logged meanwhile) as a chat message."""
        history = list(history or [])
        with collect() as notes:
            try:
                line, kind = self.service.remove(source or ""), "info"
            except KbqaError as exc:
                line, kind = f"Remove failed: {exc}", "error"
        history.append(_outcome(line, kind, notes.take()))
        return (history, *self.documents_view())

    def choose_llm(self, spec: str, base_url: str) -> str:
        """The model setting changed: answer the next question with it (or say in one line why not)."""
        try:
            return render.llm_status_html(self.service.set_llm(spec or "", base_url or ""))
        except KbqaError as exc:
            return render.llm_status_html(self.service.llm_status(), render.scrub_paths(str(exc)))

    def llm_view(self) -> tuple[str, str, str]:
        """The model setting as it stands (another page may have changed it since this one was built)."""
        settings = self.service.settings
        return settings.llm, settings.llm_base_url, render.llm_status_html(self.service.llm_status())

    def clear(self) -> tuple[list[Message], list[str], str]:
        return [], [], ""

    def forget(self) -> list[str]:
        return []


def connect(app: gr.Blocks, page: Page, service: ChatService) -> None:
    """Wire `page`'s events to `service`, inside the open `app`."""
    on = Handlers(service)
    talk, docs, model = page.conversation, page.documents, page.model
    chat, queries = talk.chat, page.queries
    asked = [talk.question, chat, queries, page.k, page.dates.since, page.dates.until]
    talk.question.submit(on.respond, asked, [talk.question, chat, queries])
    talk.new_chat.click(on.clear, None, [chat, queries, talk.question])
    chat.clear(on.forget, None, queries)  # the chat's own trash button: follow-ups must not use the old turns
    docs.files.upload(on.upload, [docs.files, chat], [chat, docs.files, docs.docs, docs.chosen])
    docs.remove.click(on.remove, [docs.chosen, chat], [chat, docs.docs, docs.chosen])
    app.load(on.documents_view, None, [docs.docs, docs.chosen])
    app.load(on.llm_view, None, [model.spec, model.url, model.status])
    if model.apply is not None:  # no endpoint at all when the page is exposed without a password
        for trigger in (model.apply.click, model.spec.submit, model.url.submit):
            trigger(on.choose_llm, [model.spec, model.url], model.status)
