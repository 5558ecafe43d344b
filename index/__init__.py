"""Turn documents into a searchable store: load, clean, chunk, embed, FAISS."""
