"""The PostgreSQL + pgvector engine: reader (store), writer, tables and pools (schema), BM25 in SQL (keywords)."""
