"""The same story from several outlets: retrieved passages near-identical to the cited one, published within days."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from kbqa.index.records import Passage
from kbqa.qa.answer.dated import outlet
from kbqa.qa.answer.records import Answer, language
from kbqa.qa.contracts import Retrieval
from kbqa.qa.timeline import published
from kbqa.text.tokenize import overlap

WITHIN = timedelta(days=2)  # syndicated copies and rewrites of one story appear within a couple of days
# Jaccard similarity of two passages' content tokens (syllables and syllable pairs) from which they tell one story:
# a rewritten brief of the same event shares most names, numbers and word pairs; two different days' gold-price
# reports share the frame but not the figures (measured on the test's briefs: same story 0.5-0.8, next day 0.2-0.35).
SAME_STORY = 0.45
ALSO = {"vi": "Cùng tin này: {outlets}.", "en": "Also reported by {outlets}."}


def same_story(cited: Passage, other: Passage) -> bool:
    """Whether `other` is the cited passage's story from another document, published within WITHIN of it."""
    if other.doc_id == cited.doc_id:
        return False
    when, then = published(cited), published(other)
    if when is None or then is None or abs(when - then) > WITHIN:
        return False
    return overlap(cited.passage, other.passage) >= SAME_STORY


def with_others(answer: Answer, retrieval: Retrieval) -> Answer:
    """`answer` with the retrieved passages that tell its first citation's story from other outlets (`also`), named
    in its note; unchanged when there are none."""
    if not answer.found or not answer.citations:
        return answer
    cited = answer.citations[0].passage
    others: dict[str, Passage] = {}
    for passage in retrieval.passages:
        if same_story(cited, passage) and passage.doc_id not in others:
            others[passage.doc_id] = passage
    if not others:
        return answer
    lang = language(answer.question)
    names = list(dict.fromkeys(outlet(p, lang) if "://" in p.source else f"“{p.title}”" for p in others.values()))
    line = ALSO[lang].format(outlets=", ".join(names))
    return replace(answer, also=list(others.values()), note=f"{answer.note} {line}".strip())
