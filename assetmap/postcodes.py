"""UK postcodes: normalising their spelling and locating them offline.

The index is built from Code-Point Open CSVs (headerless, as Ordnance Survey ships them,
one file or a folder of them) or any CSV with a postcode column and coordinates
(easting/northing, or latitude/longitude). It is cached as sorted columnar arrays, so a
national index loads in a fraction of a second the second time, and looked up with one
vectorised binary search.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj

from .errors import AssetmapError
from .outputs import atomic_path
from .registers import detect_roles, filled_text
from .settings import WORK_CRS, cache_dir

#: A well-formed UK postcode once normalised (outward code, one space, inward code).
POSTCODE_PATTERN = r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$"
_CODEPOINT_COLUMNS = {"postcode": 0, "easting": 2, "northing": 3}
#: Letters and digits typed for one another (both ways round) in near-miss postcodes.
LOOKALIKES = (("O", "0"), ("I", "1"), ("L", "1"), ("S", "5"), ("Z", "2"), ("B", "8"),
              ("G", "6"))
#: Part of the cache file name: raise it when the index built from a file changes.
_CACHE_VERSION = 2


#: Text :func:`normalise_postcodes` leaves as it is.
_NORMALISED = r"[0-9A-Z]{1,4} [0-9A-Z]{3}"


def normalise_postcodes(values: pd.Series) -> pd.Series:
    """Upper case, one space before the inward code: ``" bd71dp"`` -> ``"BD7 1DP"``."""
    text = filled_text(values)
    done = text.str.fullmatch(_NORMALISED).to_numpy()  # most are: one pass over them
    if done.all():
        return text
    compact = text[~done].str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    spaced = compact.str[:-3] + " " + compact.str[-3:]
    out = text.copy()
    out[~done] = spaced.where(compact.str.len() > 3, compact)
    return out


def is_well_formed(normalised: pd.Series) -> pd.Series:
    """Whether each normalised postcode has the shape of a UK postcode."""
    return normalised.str.match(POSTCODE_PATTERN)


@dataclass(frozen=True)
class PostcodeIndex:
    """Sorted postcodes with their British National Grid coordinates (NaN: no position)."""

    postcodes: np.ndarray  # bytes, sorted, unique
    easting: np.ndarray
    northing: np.ndarray

    def __len__(self) -> int:
        return len(self.postcodes)

    def lookup(self, normalised: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Coordinates of normalised postcodes: ``(easting, northing, found)``.

        Postcodes not in the index get ``found=False``; postcodes in it without a
        position (Code-Point quality 90) get ``found=True`` and NaN coordinates.
        """
        pos, found = self._search(_keys(normalised))
        return (np.where(found, self.easting[pos], np.nan),
                np.where(found, self.northing[pos], np.nan), found)

    def near_misses(self, normalised: pd.Series) -> pd.Series:
        """For each normalised postcode not in the index, the postcodes of the index that
        one look-alike character (:data:`LOOKALIKES`, e.g. O for 0) away would give.

        Only well-formed candidates count, so a letter becomes a digit only where the
        postcode format has a digit, and the reverse. Returns a list per postcode (empty
        for postcodes in the index, blank ones and those with no near miss).
        """
        keys = _keys(normalised)
        missing = np.flatnonzero(~self._search(keys)[1] & (keys != b""))
        chars = keys[missing].view("S1").reshape(len(missing), 8)
        rows, positions, replacements = [], [], []
        for a, b in LOOKALIKES:
            for typed, meant in ((a, b), (b, a)):
                row, position = np.nonzero(chars == typed.encode())
                rows.append(row)
                positions.append(position)
                replacements.append(np.full(len(row), meant.encode(), dtype="S1"))
        row, position = np.concatenate(rows), np.concatenate(positions)
        candidates = chars[row]  # a copy: one row per one-character change
        candidates[np.arange(len(row)), position] = np.concatenate(replacements)
        candidates = candidates.view("S8").ravel()
        text = pd.Series(candidates.astype(str), dtype=object)
        good = is_well_formed(text).to_numpy() & self._search(candidates)[1]
        found = text[good].groupby(missing[row[good]]).agg(list)
        result = pd.Series([[] for _ in range(len(keys))], index=normalised.index, dtype=object)
        result.iloc[found.index.to_numpy()] = found.to_numpy()
        return result

    def _search(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of ``keys`` in the sorted postcodes, and whether each is there."""
        pos = np.searchsorted(self.postcodes, keys).clip(0, len(self) - 1)
        return pos, self.postcodes[pos] == keys

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        columns: dict[str, str] | None = None,
        cache: bool = True,
    ) -> PostcodeIndex:
        """Build (or load from the cache) the index of a postcode file or folder.

        Parameters
        ----------
        path
            A CSV (optionally ``.gz``), or a folder of Code-Point Open CSVs.
        columns
            Explicit ``{"postcode"|"easting"|"northing"|"latitude"|"longitude": column}``.
        cache
            Keep the built index under ``$ASSETMAP_CACHE_DIR`` (default ``~/.cache/assetmap``).
        """
        path = Path(path)
        files = _postcode_files(path)
        cached = _cache_file(files, columns) if cache else None
        if cached is not None and cached.exists():
            with np.load(cached) as saved:
                return cls(saved["postcodes"], saved["easting"], saved["northing"])
        table = pd.concat([_read_postcode_csv(f, columns) for f in files], ignore_index=True)
        index = cls._from_table(table, path)
        if cached is not None:
            _save_atomically(cached, index)
        return index

    @classmethod
    def loader(cls, path: str | Path, *, announce: Callable[[str], None] | None = None,
               **options) -> Callable[[], PostcodeIndex]:
        """A function giving :meth:`from_file`'s index, built (or loaded) on its first call
        only, so that registers located by coordinates never wait for it. The file is
        checked now (its columns, from its first lines); ``announce`` is told when the
        index is loaded."""
        for file in _postcode_files(Path(path)):
            _layout(file, options.get("columns"))

        @functools.cache
        def load() -> PostcodeIndex:
            if announce is not None:
                announce(f"Loading postcodes from {Path(path).name}")
            return cls.from_file(path, **options)
        return load

    @classmethod
    def _from_table(cls, table: pd.DataFrame, path: Path) -> PostcodeIndex:
        """The index of well-formed postcodes (blank and malformed ones are left out)."""
        postcodes = normalise_postcodes(table["postcode"])
        table = table.assign(postcode=postcodes)[is_well_formed(postcodes)]
        table = table.drop_duplicates("postcode").sort_values("postcode")
        if table.empty:
            raise AssetmapError("postcode file holds no well-formed postcodes", file=path)
        keys = _keys(table["postcode"])
        x = table["easting"].to_numpy(float, copy=True)
        y = table["northing"].to_numpy(float, copy=True)
        no_position = (x <= 0) & (y <= 0)
        x[no_position], y[no_position] = np.nan, np.nan
        return cls(keys, x, y)


def _postcode_files(path: Path) -> list[Path]:
    """The CSV files of a postcode file or folder (an error if there are none)."""
    if not path.exists():
        raise AssetmapError("postcode file not found", file=path)
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files:
        raise AssetmapError("folder holds no CSV files", file=path)
    return files


def _keys(normalised: pd.Series) -> np.ndarray:
    """Normalised postcodes as the index stores them (8-byte ASCII)."""
    return normalised.str.encode("ascii", errors="replace").to_numpy(dtype="S8")


def _layout(path: Path, columns: dict[str, str] | None) -> dict[str, str | int]:
    """The column of the postcodes and of easting/northing (or latitude/longitude), from
    the first lines: positions in a headerless Code-Point file, else headers by role."""
    try:
        first = pd.read_csv(path, nrows=1, header=None, dtype=str)
        headerless = bool(first.iloc[0].fillna("").str.match(r"^[A-Z]{1,2}[0-9]").iloc[0])
        if headerless and not columns:
            return dict(_CODEPOINT_COLUMNS)
        header = pd.read_csv(path, nrows=0).columns
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise AssetmapError(f"cannot read postcode file ({exc})", file=path) from None
    roles = detect_roles(header, columns, file=path)
    coords = ("easting", "northing") if {"easting", "northing"} <= set(roles) else (
        "latitude", "longitude")
    if "postcode" not in roles or not set(coords) <= set(roles):
        raise AssetmapError("needs a postcode column and easting/northing or "
                            "latitude/longitude columns", file=path)
    return {role: roles[role] for role in ("postcode", *coords)}


def _read_postcode_csv(path: Path, columns: dict[str, str] | None) -> pd.DataFrame:
    layout = _layout(path, columns)
    try:
        table = pd.read_csv(path, header=None if layout == _CODEPOINT_COLUMNS else "infer",
                            usecols=list(layout.values()), dtype={layout["postcode"]: str})
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise AssetmapError(f"cannot read postcode file ({exc})", file=path) from None
    table = table.rename(columns={column: role for role, column in layout.items()})
    if "latitude" in layout:
        to_grid = pyproj.Transformer.from_crs("EPSG:4326", WORK_CRS, always_xy=True)
        table["easting"], table["northing"] = to_grid.transform(
            table["longitude"].to_numpy(float), table["latitude"].to_numpy(float))
    return table[["postcode", "easting", "northing"]]


def _cache_file(files: list[Path], columns: dict[str, str] | None) -> Path:
    digest = hashlib.sha1(f"{_CACHE_VERSION}|{sorted((columns or {}).items())!r}".encode())
    for f in files:
        stat = f.stat()
        digest.update(f"{f.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return cache_dir() / f"postcodes-{digest.hexdigest()[:16]}.npz"


def _save_atomically(target: Path, index: PostcodeIndex) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as temp:
            np.savez(temp, postcodes=index.postcodes, easting=index.easting,
                     northing=index.northing)
    except OSError:
        pass  # a read-only home only costs the rebuild next time
