"""Reading asset registers: CSV, XLSX and any OGR format, with column roles detected.

A register is read as text, exactly as typed: every cell a string, blank cells ``""``,
indexed by the row number a person sees when opening the file (1-based, header included).
Files are never modified.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .errors import AssetmapError
from .settings import WORK_CRS

#: Column roles, and the (normalised) header names people use for them.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("id", "assetid", "siteid", "ref", "reference", "urn", "uprn", "odscode",
           "practicecode", "orgcode", "organisationcode"),
    "name": ("name", "sitename", "assetname", "venue", "venuename", "organisation",
             "organisationname", "establishmentname", "practicename", "schoolname", "title"),
    "type": ("type", "category", "assettype", "sitetype", "venuetype", "servicetype",
             "typeofestablishment", "typeofestablishmentname"),
    "postcode": ("postcode", "postalcode", "pcd", "pcds", "pcd2", "zip"),
    "latitude": ("lat", "latitude"),
    "longitude": ("long", "lng", "lon", "longitude"),
    "easting": ("easting", "eastings", "x", "xcoord", "oseast1m"),
    "northing": ("northing", "northings", "y", "ycoord", "osnrth1m"),
}
#: Fallback: a header containing one of these words takes the role (when no exact match).
_ROLE_WORDS = {"postcode": "postcode", "latitude": "latitude", "longitude": "longitude",
               "easting": "easting", "northing": "northing", "name": "name"}
_TABLE_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
_HEADER_SEARCH_ROWS = 30


@dataclass
class Register:
    """A register read as text, with the role of each column that has one."""

    path: Path
    frame: pd.DataFrame
    roles: dict[str, str] = field(default_factory=dict)
    header_row: int = 1
    encoding: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def column(self, role: str) -> pd.Series:
        """The cells of the column playing ``role`` (all ``""`` when none does)."""
        if role in self.roles:
            return self.frame[self.roles[role]].astype(str)
        return pd.Series("", index=self.frame.index, dtype=object)


def normalise_header(text: str) -> str:
    """Header as compared with :data:`ROLE_NAMES`: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", str(text).lower())


def detect_roles(columns, explicit: dict[str, str] | None = None, *, file=None) -> dict[str, str]:
    """Map roles to columns: explicit choices first, then exact names, then words in names."""
    columns = [str(c) for c in columns]
    roles: dict[str, str] = {}
    for role, column in (explicit or {}).items():
        if role not in ROLE_NAMES:
            raise AssetmapError(f"unknown column role {role!r}; roles are {', '.join(ROLE_NAMES)}",
                                file=file)
        if column not in columns:
            raise AssetmapError(
                f"no such column for role {role!r}; columns are {', '.join(columns)}",
                file=file, column=column)
        roles[role] = column
    normalised = {c: normalise_header(c) for c in columns}
    for role, names in ROLE_NAMES.items():
        taken = set(roles.values())
        exact = [c for c in columns if normalised[c] in names and c not in taken]
        word = _ROLE_WORDS.get(role)
        fuzzy = [c for c in columns if word and word in normalised[c] and c not in taken]
        if role not in roles and (exact or fuzzy):
            roles[role] = (exact or fuzzy)[0]
    return roles


def read_register(
    path: str | Path,
    *,
    sheet: str | None = None,
    roles: dict[str, str] | None = None,
) -> Register:
    """Read a register file as text and detect its column roles.

    Parameters
    ----------
    path
        CSV (UTF-8 with or without BOM, or Windows-1252), XLSX, or any format OGR reads
        (GeoJSON, GeoPackage, Shapefile, ...).
    sheet
        XLSX sheet name (or 1-based number), or the layer of a multi-layer OGR file.
        Default: the first.
    roles
        Explicit ``{role: column}`` choices, overriding detection. Roles: see :data:`ROLE_NAMES`.
    """
    path = Path(path)
    if not path.exists():
        raise AssetmapError("file not found", file=path)
    if path.is_dir():
        raise AssetmapError("is a folder, not a register file", file=path)
    suffix = path.suffix.lower()
    encoding = None
    if suffix in {".csv", ".txt", ".tsv"}:
        rows, encoding = _csv_rows(path)
    elif suffix in {".xlsx", ".xlsm"}:
        rows = _xlsx_rows(path, sheet)
    elif suffix == ".xls":
        raise AssetmapError("old .xls workbooks are not read; save it as .xlsx", file=path)
    else:
        frame = _read_ogr(path, sheet)
        return Register(path, frame, detect_roles(frame.columns.drop("geometry"), roles,
                                                  file=path))
    if not rows or not any(any(cell for cell in row) for row in rows):
        raise AssetmapError("the file is empty", file=path)
    header = _find_header(rows)
    frame = _table(rows, header)
    return Register(path, frame, detect_roles(frame.columns, roles, file=path),
                    header_row=header + 1, encoding=encoding)


def _csv_rows(path: Path) -> tuple[list[list[str]], str]:
    data = path.read_bytes()
    utf8 = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    for encoding in (utf8, "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if "\x00" in text:
        raise AssetmapError("not a text file (contains NUL bytes)", file=path)
    sample = text[:20000]
    delimiter = max(",;\t|", key=sample.count)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return [[cell.strip() for cell in row] for row in rows], encoding


def _xlsx_rows(path: Path, sheet: str | None) -> list[list[str]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise AssetmapError(f"cannot read as an Excel workbook ({exc})", file=path) from None
    try:
        names = book.sheetnames
        if sheet is None:
            chosen = names[0]
        elif sheet in names:
            chosen = sheet
        elif str(sheet).isdigit() and 1 <= int(sheet) <= len(names):
            chosen = names[int(sheet) - 1]
        else:
            raise AssetmapError(f"no sheet {sheet!r}; sheets are {', '.join(names)}", file=path)
        return [[_cell_text(v) for v in row]
                for row in book[chosen].iter_rows(min_row=1, values_only=True)]
    finally:
        book.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _read_ogr(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_file(path, layer=layer)
    except Exception as exc:
        raise AssetmapError(f"cannot read as a register ({_first_line(exc)})", file=path) from None
    if frame.crs is None:
        raise AssetmapError("the file has no coordinate reference system (CRS)", file=path)
    frame = frame.to_crs(WORK_CRS)
    text = frame.drop(columns="geometry").astype(object)
    text = text.where(text.notna(), "").astype(str).apply(lambda s: s.str.strip())
    text["geometry"] = frame.geometry
    text.index = pd.RangeIndex(1, len(frame) + 1, name="row")  # feature number
    return gpd.GeoDataFrame(text, geometry="geometry", crs=WORK_CRS)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _find_header(rows: list[list[str]]) -> int:
    """Index of the header row: the first that names the most known roles.

    Title rows and blank rows above the header are passed over. With no recognisable
    header name, the first row with the most filled cells is taken.
    """
    known = {name for names in ROLE_NAMES.values() for name in names}
    head = rows[:_HEADER_SEARCH_ROWS]
    scores = [sum(normalise_header(c) in known for c in row if c) for row in head]
    if max(scores) > 0:
        return scores.index(max(scores))
    filled = [sum(bool(c) for c in row) for row in head]
    return filled.index(max(filled))


def _table(rows: list[list[str]], header: int) -> pd.DataFrame:
    names = _unique_names(rows[header])
    body = rows[header + 1:]
    while body and not any(body[-1]):
        body.pop()
    width = max([len(names), *map(len, body)])
    names += [f"column {i + 1}" for i in range(len(names), width)]
    body = [row + [""] * (width - len(row)) for row in body]
    index = pd.RangeIndex(header + 2, header + 2 + len(body), name="row")
    return pd.DataFrame(body, columns=names, index=index, dtype=object)


def _unique_names(header: list[str]) -> list[str]:
    names: list[str] = []
    for i, cell in enumerate(header):
        name = cell or f"column {i + 1}"
        while name in names:
            name += "_2"
        names.append(name)
    return names
