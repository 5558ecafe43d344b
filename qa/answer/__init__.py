"""Answers from retrieved passages: the records, the extractive answerer and its support score."""

from kbqa.qa.answer.extractive import ExtractiveAnswerer
from kbqa.qa.answer.records import Answer, Citation, Claim, compose, language, not_found

__all__ = ["Answer", "Citation", "Claim", "ExtractiveAnswerer", "compose", "language", "not_found"]
