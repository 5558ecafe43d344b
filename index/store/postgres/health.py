"""The PostgreSQL store's health: the server answers, the tables and the HNSW index exist, the counts add up."""

from __future__ import annotations

from typing import Any

import numpy as np

from kbqa.config import Settings
from kbqa.errors import KbqaError
from kbqa.index.store.api import Health
from kbqa.index.store.postgres.keywords import LIVE_BLOCKS, decode
from kbqa.index.store.postgres.schema import ALIVE, PgManifest, display, pool, read_manifest
from kbqa.index.store.secrets import one_line

COUNTS = f"""
SELECT (SELECT count(*) FROM documents d WHERE {ALIVE.format(t="d")}), count(*), coalesce(sum(c.length), 0),
       coalesce(max(c.id), -1), coalesce(min(vector_dims(c.embedding)), 0)
FROM chunks c WHERE {ALIVE.format(t="c")}
"""
ORPHANS = f"""
SELECT count(*) FROM chunks c JOIN documents d ON d.key = c.doc_key
WHERE {ALIVE.format(t="c")} AND NOT ({ALIVE.format(t="d")})
"""


def _unposted(conn: Any, manifest: PgManifest) -> int:
    """How many live chunks have term frequencies in the live postings blocks that do not add up to their token
    count (a chunk missing from the keyword index, or in it twice). Reads every block."""
    g = {"g": manifest.generation}
    counted = np.zeros(manifest.next_id, np.float64)
    # a server-side cursor (it needs a transaction): the blocks arrive in batches, not all at once
    with conn.transaction(), conn.cursor(name="kbqa_check_postings") as cur:
        cur.execute(f"SELECT p.chunks, p.tfs FROM postings p WHERE {LIVE_BLOCKS}", g)
        for chunks, tfs in cur:
            ids, counts = decode(chunks, tfs)
            np.add.at(counted, ids, counts)
    lengths = np.full(manifest.next_id, -1.0)  # -1: not live (their postings may stay a while)
    for chunk_id, length in conn.execute(f"SELECT c.id, c.length FROM chunks c WHERE {ALIVE.format(t='c')}", g):
        lengths[chunk_id] = length
    live = lengths >= 0
    return int(np.count_nonzero(lengths[live] != counted[live]))


def check(location: str, settings: Settings | None = None) -> Health:
    """The health of the PostgreSQL store at `location`: the `store` row's counts against the live rows, their
    keyword postings and their vectors' dimension, and the HNSW index. Lines name the store without its password;
    a server that cannot be reached (or a store of another format) is a one-line error, not a finding."""
    shown = display(location)
    fix = f"repair it with `kbqa index --rebuild --store {shown} PATHS` (PATHS: your document folders)"
    try:
        with pool(location, settings=settings).connection() as conn:
            manifest = read_manifest(conn)
            if manifest is None:
                return Health(shown, (), None)
            g = {"g": manifest.generation}
            documents, chunks, tokens, top, dims = conn.execute(COUNTS, g).fetchone()
            orphans = conn.execute(ORPHANS, g).fetchone()[0]
            unposted = _unposted(conn, manifest)
            hnsw = conn.execute("SELECT to_regclass('chunks_embedding') IS NOT NULL").fetchone()[0]
    except KbqaError:
        raise
    except Exception as exc:  # noqa: BLE001 - any database error is a finding, in one line
        return Health(shown, (f"{shown}: cannot be read ({one_line(exc, location)}); {fix}",), None)
    found = []
    if (documents, chunks) != (manifest.documents, manifest.chunks):
        found.append(
            f"holds {documents} document(s) and {chunks} chunk(s) where its store row says {manifest.documents} "
            f"and {manifest.chunks}"
        )
    if tokens != manifest.tokens:
        found.append(f"has {tokens} keyword tokens where its store row says {manifest.tokens}")
    if top >= manifest.next_id:
        found.append(f"has chunk id {top} at or beyond its next id {manifest.next_id}")
    if chunks and dims != manifest.dim:
        found.append(f"has vectors of {dims} numbers where its store row says {manifest.dim}")
    if orphans:
        found.append(f"has {orphans} live chunk(s) of removed documents")
    if unposted:
        found.append(f"has {unposted} chunk(s) whose keyword postings do not add up to their token count")
    if not hnsw:
        found.append("lacks the HNSW index chunks_embedding")
    return Health(shown, tuple(f"{shown}: {what}; {fix}" for what in found), manifest)
