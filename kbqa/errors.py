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
