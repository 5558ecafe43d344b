"""Generative answers through LangChain chat models: the model, the prompt, citation checks, the answerer."""

from qa.llm.answerer import GenerativeAnswerer
from qa.llm.models import chat_model

__all__ = ["GenerativeAnswerer", "chat_model"]
