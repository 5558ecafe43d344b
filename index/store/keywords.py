"""The embedded store's keyword files: each generation's BM25 index (index/keyword.py) in the data folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from kbqa.index import keyword
from kbqa.index.keyword import KeywordIndex
from kbqa.index.store.damage import Problem
from kbqa.index.store.generation import Manifest, kept_generations


def load(data: Path, generation: int) -> KeywordIndex | None:
    """The keyword index saved with `generation` in data folder `data`, or None (a store from before them, or a
    generation pruned since)."""
    return keyword.load(data, generation)


def problems(data: Path, generation: int, live: np.ndarray | None, fix: str) -> list[Problem]:
    """What is wrong with `generation`'s keyword files in `data`: its manifest and segment arrays readable, and
    (given the sorted `live` chunk ids) the index covering exactly them. A store from before keyword files has none."""
    manifest = data / keyword.manifest_name(generation)
    if not manifest.exists():
        return []  # a store from before keyword files: the index is built from the chunks when asked
    try:
        spec = json.loads(manifest.read_text(encoding="utf-8"))
        names = spec["segments"]
        if not isinstance(names, list) or not isinstance(spec["removed"], list):
            raise ValueError("bad manifest")
    except (ValueError, KeyError, TypeError, OSError):
        return [Problem(manifest, "is unreadable", fix)]
    found = []
    for name in names:
        for array in keyword.ARRAYS:
            path = data / str(name) / f"{array}.npy"
            try:
                np.load(path, mmap_mode="r", allow_pickle=False)
            except FileNotFoundError:
                found.append(Problem(path, "(of the keyword index) is missing", fix))
            except Exception:  # noqa: BLE001 - numpy raises ValueError, EOFError, OSError... on a bad file
                found.append(Problem(path, "(of the keyword index) is unreadable", fix))
    if found or live is None:
        return found
    try:
        covered = KeywordIndex.load(data, manifest.name).chunk_ids()
    except Exception:  # noqa: BLE001
        return [Problem(manifest, "cannot be loaded", fix)]
    if not np.array_equal(covered, live):
        return [Problem(manifest, f"covers {len(covered)} chunks, not the {len(live)} live ones", fix)]
    return []


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
