"""Generative answers through LangChain chat models: the model, the prompt, citation checks, the answerer."""

from kbqa.qa.llm.answerer import GenerativeAnswerer
from kbqa.qa.llm.models import chat_model

__all__ = ["GenerativeAnswerer", "chat_model"]
