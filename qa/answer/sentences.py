"""The sentences an answer may quote, and what each says about the question: the features its score is made of."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from kbqa.index.records import Passage
from kbqa.qa.followup import names as name_spans
from kbqa.text.sentences import split_sentences
from kbqa.text.tokenize import STOPWORDS, bigram_tokens, syllables

MIN_SENTENCE_CHARS = 12
# A sentence opening with one of these refers back to the one before it ("It opened in 1889.").
ANAPHOR = re.compile(
    r"^(?:it|its|they|their|he|she|his|her|this|these|those|nó|họ|ông|bà|đây|điều này|chúng)\b", re.IGNORECASE
)
_TRUNCATED = re.compile(r"(?:\.\.\.|…)\s*$")  # a teaser snippet cut off mid-sentence
_CREDIT = re.compile(r"\((?:\s*(?:nguồn|ảnh|theo|photo|source)\s*:?[^()]{0,80})\)\.?$", re.IGNORECASE)

# What kind of answer a question asks for, and what a sentence holding one looks like. Hand-written: these
# question words are few and closed-class; no library tags Vietnamese question types.
TIME = re.compile(
    r"\b(?:\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{1,2}[:h]\d{2}|(?:ngày|tháng|năm|quý|tuần)\s+(?:\d+|sau|trước|tới)|"
    r"(?:đầu|cuối|giữa)\s+(?:tháng|năm|tuần)(?:\s+\d+(?:/\d{2,4})?)?|1\d{3}|20\d{2}|hôm\s+(?:nay|qua|sau)|sáng|chiều|tối|"
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december)\b)",
    re.IGNORECASE,
)
NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:\s*(?:%|phần trăm|triệu|tỷ|nghìn|ngàn|trăm|kg|g|cm|mm|m|km|USD|đồng|tuổi))?")
LIST = re.compile(r"(?:[^,]+,){2,}|\bnhư\b.+\bvà\b|:\s*\S", re.IGNORECASE)
QUESTION_KINDS = {
    "time": re.compile(
        r"\b(?:khi nào|bao giờ|lúc nào|ngày nào|năm nào|tháng nào|thời gian nào|thời điểm nào|when)\b", re.I
    ),
    "number": re.compile(r"\b(?:bao nhiêu|mấy|how (?:many|much|long|old))\b", re.I),
    "list": re.compile(r"\b(?:những|các)\b.*\bnào\b|\bnhững gì\b|\bwhich\b|\bwhat\b.*s\b", re.I),
    "why": re.compile(r"\b(?:vì sao|tại sao|lý do|nguyên nhân|vì đâu|why)\b", re.I),
    "who": re.compile(r"(?:^|\s)(?:[Aa]i|[Nn]gười nào|[Ww]ho)\b"),  # case-sensitive: "AI" is not "ai" (who)
    "where": re.compile(r"\b(?:ở đâu|nơi nào|tại đâu|chỗ nào|where)\b", re.I),
    "whatis": re.compile(r"\blà gì\b|\bwhat (?:is|are)\b", re.I),
    "how": re.compile(r"\b(?:như thế nào|thế nào|ra sao|làm sao|cách nào|bằng cách|how)\b", re.I),
}
_HOLDS = {
    "time": TIME,
    "number": re.compile(
        r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
        r"thousand|million|billion|dozen|một|hai|ba|bốn|năm|sáu|bảy|tám|chín|mười|trăm|nghìn|ngàn|triệu|tỷ)\b",
        re.I,
    ),
    "list": LIST,
    "why": re.compile(r"\b(?:do|vì|bởi|nên|khiến|nguyên nhân|lý do|because|due)\b", re.I),
    "where": re.compile(r"\b(?:tại|ở|trong|in|at)\s+\w", re.I),
    "whatis": re.compile(r"\blà\b|\bis\b|\bare\b", re.I),
    "how": re.compile(r"\b(?:bằng|cách|qua|by)\b", re.I),
}
# English question words are not stop words for search (the tokens are shared with the keyword index), but a
# sentence need not repeat them to answer; Vietnamese ones (khi nào, bao nhiêu, gì, ai) are stop words already.
QUESTION_WORDS = frozenset(
    [
        "how",
        "many",
        "much",
        "what",
        "which",
        "when",
        "where",
        "who",
        "whom",
        "whose",
        "why",
        "did",
        "do",
        "does",
        "is",
        "are",
        "was",
        "were",
        "will",
        "would",
        "can",
        "could",
    ]
)
FEATURES = (
    "cov",  # IDF-weighted share of the question's terms in the sentence (IDF over the candidate sentences)
    "covw",  # the same with the corpus IDF (a term the corpus lacks weighs most)
    "cov_single",  # share of the question's single syllables it holds
    "cov_pair",  # share of the question's syllable pairs it holds
    "prev_cov",  # the sentence before it: its coverage (the answer often follows the sentence restating the question)
    "next_cov",
    "prev_gain",  # coverage the sentence before adds to this one's
    "anaphor",  # opens with a word referring back
    "anaphor_x_prev",
    "prev_x_uncov",  # predecessor covers the question, this one does not: the answer after the restatement
    "cov_x_old",  # covers the question with few new words: a restatement, not an answer
    "rank",  # its passage's rank (0 = best)
    "docratio",  # its document's best passage score / the top score
    "pratio",  # its passage's score / the top score
    "first",  # first sentence of its passage
    "loglen",
    "new",  # share of its content syllables the question does not have
    "pos",  # position in its passage (0–1)
    "names",  # share of the question's names it holds
    "npairs",
    "nsingles",
    *(f"asks_{kind}" for kind in QUESTION_KINDS),  # +1 the sentence holds the kind asked for, -1 it cannot, 0 n/a
)


@dataclass
class Candidate:
    """A sentence of a retrieved passage: where it is, whether it may be quoted, and its features."""

    rank: int  # index of its passage
    start: int  # offsets in the passage text
    end: int
    text: str
    quotable: bool
    features: list[float]
    score: float = 0.0


def is_unquotable(passage: Passage, start: int, end: int, text: str) -> bool:
    """Titles, captions, bylines, source lines and nav text (marked when cleaning: `Passage.unquotable`) and
    teaser snippets cut off with "…" are searchable but never quoted as claims."""
    if any(s < end and start < e for s, e in passage.unquotable):
        return True
    return (
        len(text) < MIN_SENTENCE_CHARS or text == passage.title or bool(_TRUNCATED.search(text) or _CREDIT.search(text))
    )


def _captioned(text: str, spans: list[tuple[int, int]], i: int) -> bool:
    """A sentence followed on its line by a photo credit ("… ngày 25/4. (Nguồn: Getty Images)") is a caption."""
    if i + 1 >= len(spans):
        return False
    s, e = spans[i + 1]
    return "\n" not in text[spans[i][1] : s] and bool(_CREDIT.fullmatch(text[s:e]))


def question_kinds(question: str) -> list[str]:
    """The kinds of answer the question asks for (its question words), most specific first."""
    return [kind for kind, asks in QUESTION_KINDS.items() if asks.search(question)]


def names(text: str) -> list[str]:
    """The names in `text` (runs of capitalised words, see kbqa.qa.followup.names), lower-cased."""
    return [text[s:e].lower() for s, e in name_spans(text)]


def _holds(kind: str, sentence: str, question_names: list[str]) -> float:
    if kind == "who":
        return 1.0 if any(n not in question_names for n in names(sentence)) else -1.0
    return 1.0 if _HOLDS[kind].search(sentence) else -1.0


def candidates(question: str, passages: list[Passage], corpus_idf: dict[str, float] | None = None) -> list[Candidate]:
    """Every distinct sentence of `passages` with its features (FEATURES order). `corpus_idf`: the corpus IDF of
    the question's terms (kbqa.qa.search.Evidence.terms); without it the candidate-set IDF stands in."""
    if not passages:
        return []
    q_terms = {t for t in bigram_tokens(question) if not QUESTION_WORDS.intersection(t.split("_"))}
    q_singles = {t for t in q_terms if "_" not in t}
    q_pairs = q_terms - q_singles
    q_syllables = set(syllables(question))
    q_names = names(question)
    kinds = question_kinds(question)
    top = max(passages[0].score, 1e-9)
    doc_best: dict[str, float] = {}
    for p in passages:
        doc_best[p.doc_id] = max(doc_best.get(p.doc_id, p.score), p.score)

    rows: list[tuple[int, int, int, int, str, bool, set[str]]] = []  # rank, start, end, index in passage, ...
    seen: set[str] = set()
    for rank, p in enumerate(passages):
        spans = split_sentences(p.passage)
        for i, (s, e) in enumerate(spans):
            text = p.passage[s:e]
            quotable = not is_unquotable(p, s, e, text) and text not in seen and not _captioned(p.passage, spans, i)
            seen.add(text)
            rows.append((rank, s, e, i, text, quotable, set(bigram_tokens(text))))
    df = Counter(t for *_, terms in rows for t in terms & q_terms)
    local = {t: 1.0 + math.log((len(rows) + 1) / (df[t] + 1)) for t in q_terms}
    local_total = sum(local.values()) or 1.0
    idf = corpus_idf if corpus_idf else local
    idf_total = sum(idf.values()) or 1.0

    def cov(terms: set[str]) -> float:
        return sum(local[t] for t in terms & q_terms) / local_total

    covs = [cov(r[6]) for r in rows]
    per_passage = Counter(r[0] for r in rows)
    out: list[Candidate] = []
    for j, (rank, s, e, i, text, quotable, terms) in enumerate(rows):
        same_prev = j > 0 and rows[j - 1][0] == rank
        same_next = j + 1 < len(rows) and rows[j + 1][0] == rank
        prev_cov = covs[j - 1] if same_prev else 0.0
        prev_gain = cov(rows[j - 1][6] - terms) if same_prev else 0.0
        content = set(syllables(text)) - STOPWORDS
        new = len(content - q_syllables) / max(1, len(content))
        lowered = text.lower()
        anaphor = 1.0 if ANAPHOR.match(text) else 0.0
        p = passages[rank]
        features = [
            covs[j],
            sum(w for t, w in idf.items() if t in terms) / idf_total,
            len(terms & q_singles) / max(1, len(q_singles)),
            len(terms & q_pairs) / max(1, len(q_pairs)),
            prev_cov,
            covs[j + 1] if same_next else 0.0,
            prev_gain,
            anaphor,
            anaphor * prev_cov,
            prev_cov * (1.0 - covs[j]),
            covs[j] * (1.0 - new),
            float(rank),
            doc_best[p.doc_id] / top,
            p.score / top,
            1.0 if i == 0 else 0.0,
            math.log(max(len(text), 1)),
            new,
            i / max(1, per_passage[rank]),
            sum(1 for n in q_names if n in lowered) / len(q_names) if q_names else 1.0,
            float(len(terms & q_pairs)),
            float(len(terms & q_singles)),
            *(_holds(kind, text, q_names) if kind in kinds else 0.0 for kind in QUESTION_KINDS),
        ]
        out.append(Candidate(rank, s, e, text, quotable, features))
    return out
