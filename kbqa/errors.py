"""The few errors a user can cause, each with a one-line message."""

from __future__ import annotations


class KbqaError(Exception):
    """A user-facing error: its message is one line and says what to do."""


class InputError(KbqaError):
    """Bad input: a missing path, an empty folder, an empty question, an unreadable file."""


class IndexMissingError(KbqaError):
    """There is no index where one was expected."""


class EmbedderMismatchError(KbqaError):
    """The index was built with another embedder than the one asked for."""


class StoreLockedError(KbqaError):
    """Another process is writing the index."""


def check_embedder(where: object, built_with: str, embedder_id: str | None, writing: bool = False) -> None:
    """EmbedderMismatchError (one line, with the fix) when the index at `where`, built with `built_with`, is used
    with another embedder `embedder_id` (None: any); `writing`: the fix is a rebuild, else also the other embedder."""
    if embedder_id is None or built_with == embedder_id:
        return
    fix = (
        "use `kbqa index --rebuild` to rebuild it with the new one"
        if writing
        else f"rebuild it with `kbqa index --rebuild --embedder {embedder_id}` or ask with --embedder {built_with}"
    )
    raise EmbedderMismatchError(
        f"the index at {where} was built with embedder '{built_with}', not '{embedder_id}': " + fix
    )
