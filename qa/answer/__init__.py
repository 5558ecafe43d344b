"""Answers from retrieved passages: the records, the extractive answerer and its support score."""

from qa.answer.records import Answer, Citation, Claim, compose, language, not_found
from qa.answer_old import ANAPHOR, ANSWER_TYPES, NO_ANSWER, ExtractiveAnswerer, answer_type_bonus

__all__ = [
    "ANAPHOR",
    "ANSWER_TYPES",
    "NO_ANSWER",
    "Answer",
    "Citation",
    "Claim",
    "ExtractiveAnswerer",
    "answer_type_bonus",
    "compose",
    "language",
    "not_found",
]
