"""Text helpers both stages use: tokens for keyword search, sentence boundaries, language."""
