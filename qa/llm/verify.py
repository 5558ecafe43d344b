"""Check the model's answer: parse sentences and their [n] markers, drop markers naming no passage, and measure
whether each cited passage supports the sentence citing it (embedding similarity + shared content words)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from kbqa.index.embed.embedders import Embedder
from kbqa.index.records import Passage
from kbqa.qa.answer.records import Answer, Citation, Claim, not_found
from kbqa.qa.llm.prompt import SENTINEL
from kbqa.text.language import language_of
from kbqa.text.sentences import split_sentences
from kbqa.text.tokenize import STOPWORDS


@dataclass(frozen=True)
class SupportRule:
    """How one passage's support of a sentence is scored (0-1) and the score that verifies it: WEIGHT × similarity +
    (1 - WEIGHT) × shared words, where similarity = (the best cosine of the sentence to the passage or one of its
    sentences - FLOOR) / (CEIL - FLOOR), clipped to 0-1, and shared words = the share of the sentence's content
    words the passage holds (across languages only numbers and names compare; with none, similarity alone). A
    number the passage does not hold makes the support 0."""

    floor: float
    ceil: float
    weight: float
    threshold: float


# Calibrated on ViNewsQA dev by bench/calibrate_support.py (questions outside bench_llm's sample; the grid's best
# balanced accuracy on one half, reported on the other; bench/RESULTS.md): written answer sentences against the
# passage holding the answer (supported), another article's best passage (wrong passage), and with another
# question's answer (wrong fact); English sentences are the 0.5B fixture model's translations of them. Held out,
# same language: 96% of supported sentences verified, 98% of wrong passages and 92% of wrong facts flagged (the
# first guesses, 0.80/0.90/0.5/0.5, flagged 34% and 20%). English over Vietnamese: 52% verified, 96% and 88%
# flagged (0.41, 0.95, 0.92 before): across languages only names and numbers compare, and cosines of
# translations (p50 0.84) sit close to those of wrong passages (0.81).
SAME = SupportRule(floor=0.76, ceil=0.96, weight=0.25, threshold=0.75)  # sentence and passage in one language
CROSS = SupportRule(floor=0.74, ceil=0.86, weight=0.5, threshold=0.80)  # an English sentence, a Vietnamese passage
VERIFIED = 1.0  # support() at or above this: the passage supports the sentence

_MARKER = re.compile(r"\s*\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W\d_]+")
_LIST_NUMBER = re.compile(r"\**\d{1,2}[.)]\**")  # "1." or "**2.**" alone: a numbered list's number
_BULLET = re.compile(r"^(?:[-*•]|\d{1,2}\))\s+")  # "- ", "* ", "• ", "1) " opening an item


def is_not_found(text: str) -> bool:
    """The model said the passages do not answer (the sentinel, perhaps with punctuation or markers around it)."""
    bare = _MARKER.sub(" ", text).strip().strip("*`\"'.: ")
    return bare.upper().startswith(SENTINEL) or not bare


def clean_markers(text: str, k: int) -> str:
    """`text` with markers naming no passage (outside 1..k) dropped, the valid numbers of a marker kept."""

    def fix(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"[,;]", match.group(1))]
        valid = [n for n in numbers if 1 <= n <= k]
        if not valid:
            return ""
        space = match.group()[: len(match.group()) - len(match.group().lstrip())]
        return match.group() if valid == numbers else space + "".join(f"[{n}]" for n in valid)

    return _MARKER.sub(fix, text).strip()


def parse(text: str, k: int) -> tuple[str, list[tuple[str, tuple[int, ...]]]]:
    """The answer text with invalid markers dropped, and its sentences (marker-free) with the passages (1..k) each
    cites. A marker opening a sentence ("… fact. [2] Next …") belongs to the sentence before it. List numbers and
    bullets ("1. Fact [2]", "- Fact [1]") are not sentences: a number's markers go to the item it opens."""
    clean = clean_markers(text, k)
    sentences: list[tuple[str, list[int]]] = []
    pending: list[int] | None = None  # after a list number: the markers for the item it opens
    for start, end in split_sentences(clean):
        piece = clean[start:end]
        lead = re.match(r"(?:\s*\[[\d,;\s]+\])+", piece)
        if lead and (pending is not None or sentences):
            (sentences[-1][1] if pending is None else pending).extend(_numbers(lead.group()))
            piece = piece[lead.end() :]
        words = " ".join(_MARKER.sub(" ", piece).split())
        words = _BULLET.sub("", re.sub(r"\s+([.,;:!?…])", r"\1", words))
        if _LIST_NUMBER.fullmatch(words):
            pending = [*(pending or []), *_numbers(piece)]
        elif any(ch.isalnum() for ch in words):
            sentences.append((words, [*(pending or []), *_numbers(piece)]))
            pending = None
        elif sentences:
            sentences[-1][1].extend(_numbers(piece))
    if pending and sentences:
        sentences[-1][1].extend(pending)
    return clean, [(s, tuple(dict.fromkeys(cites))) for s, cites in sentences]


def carry_markers(source: str, translated: str, k: int) -> str:
    """`translated` with the markers of `source`, sentence by sentence, when both have as many sentences (a
    translation keeps the order of the facts); else `translated` as it is."""
    _, ours = parse(source, k)
    _, theirs = parse(translated, k)
    if len(ours) != len(theirs) or not any(cites for _, cites in ours):
        return translated
    return with_markers((text, cites) for (text, _), (_, cites) in zip(theirs, ours, strict=True))


def with_markers(sentences: Iterable[tuple[str, tuple[int, ...]]]) -> str:
    """Sentences joined, each followed by its markers: "Fact. [1] Other fact. [2] [3]"."""
    return " ".join(text + "".join(f" [{n}]" for n in cites) for text, cites in sentences)


def _numbers(text: str) -> list[int]:
    return [int(n) for m in _MARKER.finditer(text) for n in re.split(r"[,;]", m.group(1))]


def content_words(text: str, cross_language: bool = False) -> set[str]:
    """Numbers (separators removed), names (capitalised words past the first, or all-caps) and, unless
    `cross_language`, other words of 3+ letters that are not stop words; lowercased."""
    out = {re.sub(r"[.,]", "", m.group()) for m in _NUMBER.finditer(text)}
    for i, m in enumerate(_WORD.finditer(text)):
        word = m.group()
        low = word.lower()
        name = (word[0].isupper() and i > 0) or (len(word) > 1 and word.isupper())
        if low in STOPWORDS:
            continue
        if name or (not cross_language and len(word) >= 3):
            out.add(low)
    return out


def word_share(sentence: str, passage: str) -> tuple[float | None, bool, bool]:
    """The share of the sentence's content words the passage holds (None: none to compare), whether every number
    of the sentence is in the passage, and whether the two are in different languages."""
    cross = language_of(sentence) != language_of(passage)
    words = content_words(sentence, cross)
    held = content_words(passage) | content_words(passage, True)
    numbers = {w for w in words if w.isdigit()}
    share = len(words & held) / len(words) if words else None
    return share, numbers <= held, cross


def score(share: float | None, numbers_held: bool, cosine: float | None, rule: SupportRule) -> float:
    """The support (0-1) that `rule` gives these measurements of a sentence against a passage."""
    if not numbers_held:
        return 0.0
    sim = None if cosine is None else min(1.0, max(0.0, (cosine - rule.floor) / (rule.ceil - rule.floor)))
    if sim is None:
        return share or 0.0
    return sim if share is None else rule.weight * sim + (1 - rule.weight) * share


def support(sentence: str, passage: str, cosine: float | None) -> float:
    """How well `passage` supports `sentence`, as a share of the bar: 1.0 and above is verified (the calibrated
    score over the rule's threshold for this language pairing, capped at 2). `cosine`: their best cosine."""
    share, numbers_held, cross = word_share(sentence, passage)
    rule = CROSS if cross else SAME
    return min(2.0, score(share, numbers_held, cosine, rule) / rule.threshold)


def _cosines(embedder: Embedder, sentences: list[str], passages: dict[int, str]) -> dict[tuple[int, int], float]:
    """(sentence index, passage number) → the best cosine of the sentence to the passage or one of its sentences."""
    if embedder is None or not sentences or not passages:
        return {}
    pieces: list[tuple[int, str]] = []
    for n, text in passages.items():
        pieces.append((n, text))
        pieces.extend((n, text[a:b]) for a, b in split_sentences(text) if b - a < len(text))
    vectors = np.asarray(embedder.embed_passages([*sentences, *(t for _, t in pieces)]))
    sims = vectors[: len(sentences)] @ vectors[len(sentences) :].T
    out: dict[tuple[int, int], float] = {}
    for j, (n, _) in enumerate(pieces):
        for i in range(len(sentences)):
            out[(i, n)] = max(out.get((i, n), -1.0), float(sims[i, j]))
    return out


def echoes(sentence: str, question: str) -> bool:
    """The sentence only restates the question: it holds no content word the question does not."""
    return content_words(sentence) <= content_words(question) | content_words(question, True)


def verify(question: str, text: str, passages: list[Passage], embedder: Embedder | None) -> Answer:
    """The Answer the model's `text` makes: not found on the sentinel, else its sentences as claims, each
    citation and claim marked verified or not. A sentence left uncited, or whose cited passages do not support it,
    is cited to the retrieved passage that supports it best, when one supports it well enough (small models cite
    the wrong number for a right fact: the 0.5B fixture put [2] on 40% of its markers); the note says how many
    citations kbqa moved. A sentence that only restates the question is never verified."""
    if is_not_found(text) or not passages:
        return not_found(question, passages, 0.0)
    clean, sentences = parse(text, len(passages))
    if not sentences:  # nothing but list numbers or markers ("2. [1]")
        return not_found(question, passages, 0.0)
    every = {n: p.passage for n, p in enumerate(passages, 1)}
    cosines = _cosines(embedder, [s for s, _ in sentences], every)
    claims: list[Claim] = []
    by_passage: dict[int, bool] = {}
    added = moved = 0
    for i, (sentence, cites) in enumerate(sentences):
        echo = echoes(sentence, question)
        every_score = {n: 0.0 if echo else support(sentence, text, cosines.get((i, n))) for n, text in every.items()}
        best = max(every_score, key=every_score.__getitem__)
        if max((every_score[n] for n in cites), default=0.0) < VERIFIED <= every_score[best]:
            added, moved = added + (not cites), moved + bool(cites)
            cites = (best,)
        scores = {n: every_score[n] for n in cites}
        for n, value in scores.items():
            by_passage[n] = by_passage.get(n, True) and value >= VERIFIED
        claims.append(Claim(sentence, cites, verified=bool(scores) and max(scores.values()) >= VERIFIED))
    if added or moved:  # show the markers kbqa set: the text is rebuilt from its sentences
        clean = with_markers((c.text, c.cites) for c in claims)
    citations = [Citation(n, passages[n - 1], verified=ok) for n, ok in sorted(by_passage.items())]
    flagged = sum(not c.verified for c in claims)
    notes = []
    if flagged:
        notes.append(f"{flagged} of {len(claims)} sentences are not supported by the passages they cite.")
    if moved:
        notes.append(f"{moved} citation{'s' if moved > 1 else ''} moved to the passage that supports the sentence.")
    share = (len(claims) - flagged) / len(claims) if claims else 0.0
    return Answer(question, clean, citations, passages, found=True, support=share, note=" ".join(notes), claims=claims)
