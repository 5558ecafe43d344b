"""What the chat page does, without Gradio: ask with follow-up rewriting, add uploads, list and remove."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from kbqa.config import Settings
from kbqa.errors import IndexMissingError, InputError, KbqaError
from kbqa.index.loaders import SUPPORTED_SUFFIXES
from kbqa.index.store.api import DocumentInfo
from kbqa.qa.answer import Answer
from kbqa.qa.chain import Assistant, Event
from kbqa.qa.followup import Rewrite
from kbqa.qa.timeline import NOW, Period
from kbqa.ui.render import source_label

DOCS_FOLDER = "kbqa-docs"


@dataclass(frozen=True)
class Reply:
    """An answer to one chat turn and the standalone query it was retrieved with."""

    rewrite: Rewrite
    answer: Answer


def default_docs_dir(settings: Settings) -> Path:
    """Uploads live next to the store (`<store>/../kbqa-docs`), so re-indexing that folder keeps them; with a
    postgresql:// store, in `kbqa-docs/` of the working directory (where the default store's would be)."""
    from kbqa.index.store.api import is_server

    if is_server(settings.store):
        return Path(DOCS_FOLDER)
    return Path(settings.store).parent / DOCS_FOLDER


def safe_name(name: str) -> str:
    """An uploaded file's base name with only safe characters, keeping its suffix."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^\w.-]+", "_", stem, flags=re.UNICODE).strip("._") or "document"
    return f"{stem}{suffix}"


class ChatService:
    """The assistant (opened lazily: the page works, and says so, without an index) and the document store."""

    def __init__(
        self, settings: Settings, assistant: Assistant | None = None, docs_dir: str | Path | None = None
    ) -> None:
        self.settings = settings
        self._assistant = assistant
        self.docs_dir = Path(docs_dir) if docs_dir else default_docs_dir(settings)
        self._lock = threading.RLock()  # one question or store refresh at a time: the store's reader is shared

    @property
    def assistant(self) -> Assistant:
        with self._lock:
            if self._assistant is None:
                self._assistant = Assistant(self.settings)
            return self._assistant

    def stream(
        self, question: str, previous_query: str | None, k: int | None = None, period: Period = NOW
    ) -> Iterator[Rewrite | Event]:
        """The turn as it happens: the `Rewrite` (the standalone query, for a follow-up on `previous_query`), then
        the assistant's events: the `Retrieval`, `Delta`s of the answer text, and the `Answer` last. The Deltas'
        texts, concatenated, are the answer so far (an LLM's tokens as they come; an extractive answer's claims).
        `period`: the window of days (the chat's From/To) and reference time the question is asked with."""
        if not question or not question.strip():
            raise InputError("the question is empty: type a question first")
        with self._lock:  # the LLM writes the standalone query when one answers, else the rules do
            turn = self.assistant.rewrite(question, previous_query)
        yield turn
        with self._lock:  # a "what about X?" follow-up quotes a sentence about X (its focus)
            events = self.assistant.stream(turn.query, k, focus=turn.focus, period=period)
        while True:
            # The lock is held for each step, not across yields: Gradio may resume the generator on another
            # thread, and an abandoned generator must not keep the store's shared reader locked.
            with self._lock:
                event = next(events, None)
            if event is None:
                return
            yield event

    def ask(self, question: str, previous_query: str | None, k: int | None = None, period: Period = NOW) -> Reply:
        """Answer `question`, rewritten into a standalone query when it follows up on `previous_query`, within
        `period` (see `stream`)."""
        turn: Rewrite | None = None
        answer: Answer | None = None
        for event in self.stream(question, previous_query, k, period):
            if isinstance(event, Rewrite):
                turn = event
            elif isinstance(event, Answer):
                answer = event
        assert turn is not None and answer is not None  # the stream always starts with one, ends with the other
        return Reply(turn, answer)

    def set_llm(self, spec: str, base_url: str = "") -> str:
        """Answer the next questions with the chat model `spec` (`ollama:<m>`, `openai:<m>` with `base_url`,
        `llamacpp:<path.gguf>`; "" = extractive), rebuilding only the answerer. A bad spec or a missing package
        raises InputError (one line) and the answerer stays as it was. Returns `llm_status()`."""
        spec, base_url = " ".join(spec.split()), base_url.strip()
        with self._lock:  # not while a question is between two steps of its answer
            try:
                if self._assistant is not None:
                    self._assistant.use_llm(spec, base_url)
                elif spec:  # no index opened yet: check the spec now; the assistant is built with it later
                    from kbqa.qa.llm.models import chat_model

                    chat_model(
                        spec, base_url, timeout=self.settings.llm_timeout, max_tokens=self.settings.llm_max_tokens
                    )
            except KbqaError:
                raise
            except Exception as exc:  # the client refused its arguments (e.g. a malformed URL): one line
                raise InputError(f"llm '{spec}': {type(exc).__name__}: {' '.join(str(exc).split())[:200]}") from exc
            self.settings = replace(self.settings, llm=spec, llm_base_url=base_url)
        return self.llm_status()

    def llm_status(self) -> str:
        """One line: how the next question will be answered."""
        if not self.settings.llm:
            return "Answers quote the documents (extractive; no language model)."
        where = f" at {self.settings.llm_base_url}" if self.settings.llm_base_url else ""
        return f"Answers are written by {self.settings.llm}{where}; every citation is checked."

    def source_label(self, source: str) -> str:
        """A document's source as shown in the page: an uploaded file by its name, others as stored."""
        return source_label(source, self.docs_dir)

    def document_text(self, doc_id: str) -> str | None:
        with self._lock:
            return self.assistant.store.document_text(doc_id)

    def documents(self) -> list[DocumentInfo]:
        """The documents in the index (none when there is no index yet)."""
        try:
            with self._lock:
                store = self.assistant.store
                store.refresh()
                return store.documents()
        except IndexMissingError:
            return []

    def sources(self) -> list[str]:
        """The distinct files the documents came from, in order."""
        return list(dict.fromkeys(d.source for d in self.documents()))

    def source_choices(self) -> list[tuple[str, str]]:
        """(label shown, source) for each file the documents came from."""
        return [(self.source_label(s), s) for s in self.sources()]

    def add_files(self, files: Iterable[str | Path]) -> str:
        """Copy uploaded files into the documents folder and index them; a one-line summary."""
        from kbqa.index.build import add_paths

        files = [Path(f) for f in files]
        if not files:
            raise InputError("no file was uploaded")
        for f in files:
            if f.suffix.lower() not in SUPPORTED_SUFFIXES:
                supported = ", ".join(SUPPORTED_SUFFIXES)
                raise InputError(f"unsupported file type {f.suffix or '(none)'}: {f.name} (supported: {supported})")
        self.docs_dir.mkdir(parents=True, exist_ok=True)
        targets = [self.docs_dir / safe_name(f.name) for f in files]
        backups = {t: t.read_bytes() for t in targets if t.exists()}  # a re-upload replaces an indexed copy
        for f, target in zip(files, targets, strict=True):
            shutil.copyfile(f, target)
        try:
            report = add_paths(targets, self.settings, show_progress=True)
        except BaseException:
            for t in targets:  # a file that could not be indexed is not kept; the copy it replaced comes back
                if t in backups:
                    t.write_bytes(backups[t])
                else:
                    t.unlink(missing_ok=True)
            raise
        self._reopen()
        names = ", ".join(t.name for t in targets)
        return f"Added {names}: {report.documents} document(s), {report.chunks} passage(s) indexed. Ask away."

    def remove(self, source: str) -> str:
        """Remove the documents of one file from the index (and the file, if it was uploaded here)."""
        from kbqa.index.build import remove_documents

        if not source:
            raise InputError("choose a document to remove")
        report = remove_documents([source], self.settings)
        path = Path(source)
        if path.is_file() and path.resolve().parent == self.docs_dir.resolve():
            path.unlink()
        self._reopen()
        return f"Removed {self.source_label(source)} ({len(report.removed)} document(s))."

    def _reopen(self) -> None:
        """See the new generation now (and open the assistant if the first upload just created the index)."""
        with self._lock:
            if self._assistant is not None:
                self._assistant.store.refresh()
