"""Answers as terminal text (the JSON form is `Answer.to_json`)."""

from __future__ import annotations

import textwrap

from kbqa.qa.answer import Answer

CLOSEST = {"vi": "Đoạn gần nhất (không phải câu trả lời):", "en": "Closest passages (not an answer):"}


def _sources(answer: Answer, width: int) -> list[str]:
    lines = []
    numbered = [(c.n, c.passage) for c in answer.citations] or list(enumerate(answer.passages, start=1))
    for n, p in numbered:
        page = f" p. {p.page}" if p.page else ""
        meta = " · ".join(x for x in (p.date, f"{p.source}{page} [{p.start}:{p.end}]") if x)
        lines.append(f"[{n}] {p.title} — {meta}")
        lines.append(textwrap.indent(textwrap.fill(p.passage, width - 4), "    "))
    return lines


def answer_text(answer: Answer, width: int = 100, body: bool = True) -> str:
    """The answer (or "not found"), its note, then its numbered sources — or, when not found, the closest
    passages, labelled as such — with title, date, file and offsets, and the passage. `body=False` leaves out the
    answer itself (already printed as it streamed) but for its lead (when its article was published), in brackets."""
    lines = [textwrap.fill(answer.answer, width)] if body else []
    if not body and answer.lead:
        lines.append(f"({answer.lead.rstrip(':')})")
    if answer.note:
        lines.append(f"({answer.note})")
    lines.append("")
    if answer.found and answer.citations:
        lines.append("Sources:")
        lines += _sources(answer, width)
    elif not answer.found and answer.passages:
        from kbqa.qa.answer import language

        lines.append(CLOSEST[language(answer.question)])
        lines += _sources(answer, width)
    return "\n".join(lines).rstrip()


def one_line(answer: Answer) -> str:
    """Batch mode's line: the answer (or "not found"), then its sources as file:start-end."""
    if not answer.found:
        return answer.answer
    sources = " ".join(f"[{c.n}] {c.passage.source}:{c.passage.start}-{c.passage.end}" for c in answer.citations)
    return f"{answer.answer}  | {sources}" if sources else answer.answer
