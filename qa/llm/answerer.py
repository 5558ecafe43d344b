"""GenerativeAnswerer: the chat model writes the answer from the passages; every citation is checked after."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from kbqa.index.embed.embedders import Embedder
from kbqa.qa.answer import ExtractiveAnswerer
from kbqa.qa.answer.records import Answer, language, not_found
from kbqa.qa.contracts import Delta, Retrieval
from kbqa.qa.llm.prompt import messages, translation
from kbqa.qa.llm.verify import carry_markers, is_not_found, verify
from kbqa.qa.timeline import is_recent
from kbqa.text.language import language_of

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

PROBE_LETTERS = 40  # letters of a reply read before its language is judged (about 8 words, 0.4 s at 25 tokens/s)
FALLBACK_NOTE = "The language model could not be reached ({reason}); this is the extractive answer."


def _reason(exc: BaseException) -> str:
    """A short one-line account of why the model failed."""
    text = " ".join(str(exc).split())
    text = text[:120] + "…" if len(text) > 120 else text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class GenerativeAnswerer:
    """An `Answerer` (kbqa.qa.contracts) whose answer `model` (a LangChain chat model) writes from the passages,
    every citation checked with `embedder` (kbqa.qa.llm.verify). When the model errors, times out or cannot be
    reached, `fallback`'s answer is returned with a one-line note."""

    def __init__(
        self, model: BaseChatModel, embedder: Embedder | None = None, fallback: ExtractiveAnswerer | None = None
    ) -> None:
        self.model = model
        self.embedder = embedder
        self.fallback = fallback if fallback is not None else ExtractiveAnswerer(embedder)

    def answer(self, question: str, retrieval: Retrieval, focus: str = "") -> Answer:
        """The checked answer (see `stream`), once the model has finished."""
        *_, answer = self.stream(question, retrieval, focus)
        assert isinstance(answer, Answer)  # the stream always ends with the Answer
        return answer

    def stream(self, question: str, retrieval: Retrieval, focus: str = "") -> Iterator[Delta | Answer]:
        """The answer text as the model writes it (`Delta`s), then the checked Answer, always last. The first
        PROBE_LETTERS letters are held back: never shown if they are the sentinel, and if they are not in the
        question's language the model's whole reply is translated into it, and only the translation is shown.
        With a `focus` ("what about X?"), the model sees the passages naming X when any do."""
        passages = retrieval.focused(focus).passages
        if not passages:
            yield not_found(question, passages, 0.0)
            return
        chat = messages(question, passages, latest=is_recent(retrieval.when))
        try:
            pieces = self._pieces(chat)
            text = _head(pieces)
            if is_not_found(text):
                pass  # the sentinel is never shown
            elif language_of(text, default=None) not in (None, language(question)):
                # small models often answer in the passages' language: the whole reply is translated, unseen, and
                # shown whole with its own markers (the 0.5B fixture model renumbered them when translating)
                reply = text + "".join(pieces)
                text = carry_markers(reply, "".join(self._pieces(translation(reply, question))), len(passages))
                yield Delta(text)
            else:
                yield Delta(text)
                for piece in pieces:
                    text += piece
                    yield Delta(piece)
            pieces.close()
        except Exception as exc:  # unreachable, timed out, refused, model error: the extractive answer stands in
            yield self._fallback(question, retrieval, focus, exc)
            return
        yield verify(question, text, passages, self.embedder)

    def _pieces(self, chat: list[tuple[str, str]]) -> Iterator[str]:
        """The model's reply to `chat`, piece by piece (empty pieces left out)."""
        for chunk in self.model.stream(chat):
            piece = chunk.content if isinstance(chunk.content, str) else "".join(map(str, chunk.content))
            if piece:
                yield piece

    def _fallback(self, question: str, retrieval: Retrieval, focus: str, exc: BaseException) -> Answer:
        answer = self.fallback.answer(question, retrieval, focus)
        note = FALLBACK_NOTE.format(reason=_reason(exc))
        return replace(answer, note=f"{note} {answer.note}".strip())


def _head(pieces: Iterator[str]) -> str:
    """The reply's first PROBE_LETTERS letters (all of it, if shorter), taken from `pieces`."""
    head = ""
    for piece in pieces:
        head += piece
        if sum(c.isalpha() for c in head) >= PROBE_LETTERS:
            break
    return head
