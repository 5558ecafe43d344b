"""Rule-based follow-up rewriting: "Còn Trung Quốc thì sao?" after a question becomes a standalone query."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kbqa.text.tokenize import STOPWORDS, syllables

# "Còn X thì sao?", "X thì sao?", "Thế còn X?", "Vậy còn X?", "Còn X?", "What about X?", "How about X?", "And X?"
_CUES = (
    re.compile(r"^(?:(?:thế|vậy)\s+)?còn\s+(?P<x>.+?)(?:\s+(?:thì\s+sao|thế\s+nào|ra\s+sao|nữa))?$", re.I),
    re.compile(r"^(?P<x>.+?)\s+(?:thì\s+sao|thì\s+thế\s+nào|thì\s+ra\s+sao)$", re.I),
    re.compile(r"^(?:what|how)\s+about\s+(?P<x>.+)$", re.I),
    re.compile(r"^and\s+(?P<x>.+)$", re.I),
)
# Words that refer back to the previous question's entities.
_PRONOUNS = re.compile(r"\b(?:they|them|their|it|hai\s+nước|hai\s+bên|nước\s+này|họ)\b", re.I)
# A capitalised word that starts a question is not a name: "Khi nào ...", "Which ...".
_NOT_NAMES = STOPWORDS | {"cần", "hãy", "làm", "tại", "nêu", "cho", "tell", "list", "can", "could", "should", "please"}
_WORD = re.compile(r"\w+(?:-\w+)*", re.UNICODE)  # "Tae-yong", "Chang-yang": one word
# Capitalised topics that are not the names a follow-up swaps.
_TOPICS = {"AI", "IT", "CNTT", "GDP", "COVID", "TikTok"}
MAX_FOLLOWUP_WORDS = 8


@dataclass(frozen=True)
class Rewrite:
    """The question as asked and the standalone query retrieval uses (equal when nothing was rewritten).
    `focus`: what a "what about X?" follow-up asks about (X); an answer must be about it."""

    question: str
    query: str
    focus: str = ""

    @property
    def rewritten(self) -> bool:
        return self.query != self.question


def _clean(text: str) -> str:
    return " ".join(text.split()).strip()


def names(text: str) -> list[tuple[int, int]]:
    """Spans of the runs of capitalised words in `text`: a question-initial function word ("Khi", "Which"),
    pronouns and topic acronyms ("AI") excluded."""
    spans: list[tuple[int, int]] = []
    run: tuple[int, int] | None = None
    for i, m in enumerate(_WORD.finditer(text)):
        word = m.group()
        is_name = word[0].isupper() and word not in _TOPICS and not (i == 0 and word.lower() in _NOT_NAMES)
        is_name = is_name and word.lower() not in {"họ", "they", "i"}
        gap = text[run[1] : m.start()] if run else ""
        if is_name and run and gap.strip() == "":
            run = (run[0], m.end())
            continue
        if run:
            spans.append(run)
        run = (m.start(), m.end()) if is_name else None
    if run:
        spans.append(run)
    return spans


def _content_words(text: str) -> list[str]:
    """The words of `text` that carry its topic, as written (acronyms such as "AI" kept)."""
    return [w for w in _WORD.findall(text) if w.lower() not in STOPWORDS or w in _TOPICS]


def rewrite(question: str, previous: str | None) -> Rewrite:
    """A standalone query for `question`, given the previous standalone query (None for the first question).

    A short follow-up with a cue ("còn X thì sao", "what about X") puts X in place of the previous query's last
    name; one that only refers back ("When did they meet?") gets the previous names in place of the pronoun;
    one with no content words of its own ("Tại sao?") is merged with the previous query's content words.
    """
    question = _clean(question)
    if not previous or not question:
        return Rewrite(question, question)
    previous = _clean(previous)
    body = question.rstrip("?!.… ").strip()
    if len(body.split()) > MAX_FOLLOWUP_WORDS:
        return Rewrite(question, question)
    prev_names = names(previous)
    for cue in _CUES:
        m = cue.match(body)
        if m:
            entity = m.group("x").strip(" ,")
            if prev_names:
                start, end = prev_names[-1]
                return Rewrite(question, previous[:start] + entity + previous[end:], entity)
            return Rewrite(question, f"{' '.join(_content_words(previous))} {entity}", entity)
    if prev_names and not names(body) and _PRONOUNS.search(body):
        joiner = " và " if re.search(r"[à-ỹđ]", previous.lower()) else " and "
        who = joiner.join(previous[s:e] for s, e in prev_names)
        return Rewrite(question, _PRONOUNS.sub(who, body, count=1) + "?")
    if not _content_words(body) or _only_question_words(body):
        return Rewrite(question, f"{body} {' '.join(_content_words(previous))}?")
    return Rewrite(question, question)


_QUESTION_WORDS = {"tại", "sao", "vì", "why", "how", "when", "khi", "nào", "bao", "giờ", "nữa", "else", "more", "gì"}


def _only_question_words(text: str) -> bool:
    return all(w in _QUESTION_WORDS or w in STOPWORDS for w in syllables(text))
