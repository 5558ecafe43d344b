"""GenerativeAnswerer: the chat model writes the answer from the passages; every citation is checked after."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kbqa.index.records import Passage
from kbqa.qa.answer.records import Answer, not_found
from kbqa.qa.llm.prompt import SENTINEL, messages
from kbqa.qa.llm.verify import is_not_found, verify

FALLBACK_NOTE = "The language model could not be reached ({reason}); this is the extractive answer."


def _reason(exc: BaseException) -> str:
    """A short one-line account of why the model failed."""
    text = " ".join(str(exc).split())
    text = text[:120] + "…" if len(text) > 120 else text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class GenerativeAnswerer:
    """{"question", "passages", "focus"} → Answer, like ExtractiveAnswerer, written by `model` (a LangChain chat
    model) and checked with `embedder` (kbqa.qa.llm.verify). When the model errors, times out or cannot be reached,
    `fallback`'s answer is returned with a one-line note."""

    def __init__(self, model: Any, embedder: Any | None = None, fallback: Any | None = None) -> None:
        self.model = model
        self.embedder = embedder
        if fallback is None:
            from kbqa.qa.answer import ExtractiveAnswerer

            fallback = ExtractiveAnswerer(embedder)
        self.fallback = fallback

    @staticmethod
    def _passages(inputs: dict) -> list[Passage]:
        """The passages the model sees: with a focus ("what about X?"), those naming X when any do."""
        passages: list[Passage] = inputs["passages"]
        focus = str(inputs.get("focus") or "").lower()
        return [p for p in passages if focus in p.passage.lower()] or passages if focus else passages

    def __call__(self, inputs: dict) -> Answer:
        answer: Answer | None = None
        for item in self.stream(inputs):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def invoke(self, inputs: dict, config: Any = None) -> Answer:
        return self(inputs)

    def stream(self, inputs: dict) -> Iterator[str | Answer]:
        """The answer text as the model writes it (str deltas; the sentinel is held back, never shown), then the
        checked Answer, always last."""
        question: str = inputs["question"]
        passages = self._passages(inputs)
        if not passages:
            yield not_found(question, passages, 0.0)
            return
        parts: list[str] = []
        held = ""  # text that may still turn out to be the sentinel
        try:
            for chunk in self.model.stream(messages(question, passages)):
                piece = chunk.content if isinstance(chunk.content, str) else "".join(map(str, chunk.content))
                if not piece:
                    continue
                parts.append(piece)
                if held is not None:
                    held += piece
                    start = held.lstrip(" \n*`\"'")
                    if SENTINEL.startswith(start[: len(SENTINEL)]) and len(start) <= len(SENTINEL):
                        continue
                    if start.upper().startswith(SENTINEL):
                        continue
                    piece, held = held, None
                yield piece
        except Exception as exc:  # unreachable, timed out, refused, model error: the extractive answer stands in
            yield self._fallback(inputs, exc)
            return
        if held and not is_not_found(held):  # a short reply that only began like the sentinel
            yield held
        yield verify(question, "".join(parts), passages, self.embedder)

    def _fallback(self, inputs: dict, exc: BaseException) -> Answer:
        from dataclasses import replace

        answer = self.fallback(inputs)
        note = FALLBACK_NOTE.format(reason=_reason(exc))
        return replace(answer, note=f"{note} {answer.note}".strip())
