"""The words inside a quoted sentence that answer the question: a date for "when", a number for "how many"."""

from __future__ import annotations

import re

from kbqa.qa.answer.sentences import NUMBER, TIME, name_spans, names, question_kinds

_PLACE = re.compile(r"\b(?:tại|ở|in|at)\s+((?:[^\W\d_][\w-]*\s*)+)")
_LIST = re.compile(r"\b(?:như|gồm|bao gồm|including|such as)\s+(.+?)[.!?]?$|:\s*(.+?)[.!?]?$", re.IGNORECASE)


def answer_marks(question: str, sentence: str) -> tuple[tuple[int, int], ...]:
    """Spans of `sentence` holding the kind of answer `question` asks for (none when it asks for no such kind or
    the sentence holds none that the question does not already say)."""
    asked = question.lower()
    for kind in question_kinds(question):
        if kind == "time":
            spans = [m.span() for m in TIME.finditer(sentence) if m.group().lower() not in asked]
        elif kind == "number":
            spans = [m.span() for m in NUMBER.finditer(sentence) if m.group().lower() not in asked]
        elif kind == "who":
            known = names(question)
            spans = [(s, e) for s, e in name_spans(sentence) if s > 0 and sentence[s:e].lower() not in known]
        elif kind == "where":
            spans = [
                (s, e)
                for m in _PLACE.finditer(sentence)
                for s, e in name_spans(sentence)
                if m.start(1) == s and sentence[s:e].lower() not in asked
            ]
        elif kind == "list":
            m = _LIST.search(sentence)
            group = 1 if m and m.group(1) else 2
            spans = [m.span(group)] if m else []
        else:
            continue
        spans = [(s, e - (len(sentence[s:e]) - len(sentence[s:e].rstrip()))) for s, e in spans if e > s]
        if spans:
            return tuple(spans)
    return ()
