"""The one error users see: a single line naming the file, row and column at fault."""

from __future__ import annotations

from os import PathLike


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
        where = [str(file)] if file is not None else []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


def first_line(error: Exception) -> str:
    """The first line of an exception's message (its type if it has none), to quote."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
