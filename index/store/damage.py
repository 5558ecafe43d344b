"""How a damaged store is reported: the problem (file, what is wrong, its fix) and the one-line error."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kbqa.errors import KbqaError

DEFAULT_STORE = ".kbqa"


class IndexDamagedError(KbqaError):
    """A store file is damaged: the message names it and says how to repair it (`kbqa index --rebuild`)."""

    def __init__(self, message: str, problem: Problem | None = None) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class Problem:
    """One thing wrong: which file, what is wrong with it, and what repairs it."""

    path: Path
    what: str
    fix: str

    def line(self) -> str:
        return f"{self.path}: {self.what}; {self.fix}"


def rebuild_fix(root: str | Path) -> str:
    """The command that repairs a damaged store at `root`."""
    store = "" if Path(root) == Path(DEFAULT_STORE) else f" --store {root}"
    return f"repair it with `kbqa index --rebuild{store} PATHS` (PATHS: your document folders)"


def damaged(root: str | Path, problem: Problem) -> IndexDamagedError:
    """The one-line error a command gives on a damaged store."""
    try:
        name = problem.path.relative_to(root)
    except ValueError:
        name = problem.path
    return IndexDamagedError(f"the index at {root} is damaged: {name} {problem.what}; {problem.fix}", problem)
