"""The one error users see: a single line naming the file, row and column at fault."""

from __future__ import annotations

import warnings
from os import PathLike
from pathlib import Path


class AssetmapError(Exception):
    """Bad input or a failed step, described in one line for the person who supplied it."""

    def __init__(
        self,
        message: str,
        *,
        file: str | PathLike | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file, self.row, self.column = file, row, column
        super().__init__(located(message, file=file, row=row, column=column))


class AssetmapWarning(UserWarning):
    """Input used with a caveat its supplier should see (the CLI prints it as one line)."""


def located(message: str, *, file: str | PathLike | None = None, row: int | None = None,
            column: str | None = None) -> str:
    """``message`` prefixed with the file, row and column it is about."""
    where = [str(file)] if file is not None else []
    if row is not None:
        where.append(f"row {row}")
    if column is not None:
        where.append(f"column {column!r}")
    return f"{', '.join(where)}: {message}" if where else message


def warn(message: str, *, file: str | PathLike | None = None, row: int | None = None,
         column: str | None = None) -> None:
    """Issue an :class:`AssetmapWarning` worded like an :class:`AssetmapError`."""
    warnings.warn(located(message, file=file, row=row, column=column), AssetmapWarning,
                  stacklevel=3)


def first_line(error: Exception) -> str:
    """The first line of an exception's message (its type if it has none), to quote."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def refuse_special_file(path: Path, *, action: str = "read") -> None:
    """A one-line error for a path that is neither a regular file nor a folder: reading a
    FIFO waits for a writer forever, a device such as ``/dev/zero`` never ends, and writing
    one (``/dev/null``, as root) would replace the device with a file."""
    if path.exists() and not (path.is_file() or path.is_dir()):
        raise AssetmapError(f"not a regular file (a pipe, device or socket): not {action}",
                            file=path)
