"""The store: the interface every engine meets (api), the embedded engine's parts, and the PostgreSQL engine."""
