"""The embedded store's keyword files: each generation's BM25 index (index/keyword.py) in the data folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kbqa.index import keyword
from kbqa.index.keyword import KeywordIndex
from kbqa.index.store.generation import Manifest, kept_generations


def load(data: Path, generation: int) -> KeywordIndex | None:
    """The keyword index saved with `generation` in data folder `data`, or None (a store from before them, or a
    generation pruned since)."""
    return keyword.load(data, generation)


class KeywordFiles:
    """The writer's keyword index (a GenerationFiles part): the previous generation's plus a segment of the added
    chunks minus the removed ones, or (first commit, rebuild, previous index missing) built from every live chunk."""

    def __init__(self, data: Path, previous: int | None) -> None:
        self.data, self.previous = Path(data), previous

    def recover(self, base: Manifest) -> None:
        """Delete the keyword files of a killed writer's generation."""
        keyword.prune(self.data, keep=kept_generations(base.generation))

    def save(self, draft: Manifest, records: Any) -> dict[str, Any]:
        g = draft.generation
        if (
            self.previous is None
            or keyword.update_for_generation(
                self.data, self.previous, g, records.added_chunk_texts(g), records.removed_chunk_ids(g)
            )
            is None
        ):
            keyword.build_for_generation(self.data, g, *records.chunk_texts(g))
        return {}

    def committed(self, manifest: Manifest) -> None:
        """Keep the keyword files of the generations lagging readers may still load."""
        keyword.prune(self.data, keep=kept_generations(manifest.generation))

    def abort(self) -> None:
        pass
