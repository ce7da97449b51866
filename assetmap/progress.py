"""Progress reporting: long steps say what they are doing through a callback (a spinner in
the command line; silent by default)."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


def no_progress(message: str) -> None:
    """The default progress callback: says nothing."""
