"""Answers as terminal text (the JSON form is `Answer.to_json`)."""

from __future__ import annotations

import textwrap

from qa.answer import Answer


def answer_text(answer: Answer, width: int = 100) -> str:
    """The answer, then its numbered sources: title, date, file and offsets, and the passage."""
    lines = [textwrap.fill(answer.answer, width), ""]
    if answer.citations:
        lines.append("Sources:")
    for c in answer.citations:
        p = c.passage
        meta = " · ".join(x for x in (p.date, f"{p.source} [{p.start}:{p.end}]") if x)
        lines.append(f"[{c.n}] {p.title} — {meta}")
        lines.append(textwrap.indent(textwrap.fill(p.passage, width - 4), "    "))
    return "\n".join(lines).rstrip()
