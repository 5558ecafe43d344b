"""Answer questions from the store: retrieve, answer (extractive or through an LLM), cite."""
