"""Writing results: atomically (a temporary file beside the target, then a rename), and safely
for spreadsheets (no text cell becomes a live formula when Excel opens it)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import AssetmapError
from .settings import WEB_CRS

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_GEO_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it into place only if the block succeeds."""
    target = Path(target)
    temp = target.with_name(f".{target.stem}.{os.getpid()}.tmp{target.suffix}")
    try:
        yield temp
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def refuse_to_overwrite(output: str | Path, inputs) -> None:
    """A one-line error if ``output`` is one of the ``inputs`` (inputs are never modified)."""
    output = Path(output)
    if output.exists() and any(Path(i).exists() and output.samefile(i) for i in inputs):
        raise AssetmapError("is an input: choose another output file", file=output)


def defuse_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` whose text cells and headers starting with ``= + - @`` are kept as text.

    Such cells get a leading apostrophe, the spreadsheet convention for "this is text".
    Plain numbers typed as text (``-1.75``) are left alone: they are not formulas.
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype.kind in "biufcmM" or isinstance(values.dtype, gpd.array.GeometryDtype):
            continue
        text = values.astype(str)
        risky = values.notna() & _formula_like(text)
        if risky.any():
            out[column] = values.astype(object).where(~risky, "'" + text)
    headers = pd.Series(out.columns, dtype=object)
    risky = _formula_like(headers.astype(str))
    if risky.any():
        out.columns = headers.where(~risky, "'" + headers.astype(str))
    return out


def _formula_like(text: pd.Series) -> pd.Series:
    """Whether text would start a formula in a spreadsheet (plain numbers do not)."""
    return text.str.startswith(_FORMULA_START) & ~text.str.match(_PLAIN_NUMBER)


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a CSV that Excel opens cleanly: UTF-8 with BOM, formulas defused."""
    path = _ready(path)
    with atomic_path(path) as temp:
        defuse_formulas(frame).to_csv(temp, index=False, encoding="utf-8-sig")
    return path


def write_geo(frame: gpd.GeoDataFrame, path: str | Path, *, layer: str | None = None) -> Path:
    """Write a GeoPackage, GeoJSON (in WGS84, as RFC 7946 asks) or CSV.

    A CSV gets the geometry as ``easting``/``northing`` (points) and no geometry column.
    The layer is named ``layer``, else after the file (``assets.gpkg``: ``assets``).
    """
    path = _ready(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_table(_points_as_columns(frame), path)
    if suffix not in _GEO_DRIVERS:
        raise AssetmapError("unknown output format; use .gpkg, .geojson or .csv",
                            file=path)
    if _GEO_DRIVERS[suffix] == "GeoJSON":
        frame = frame.to_crs(WEB_CRS)
    with atomic_path(path) as temp:
        frame.to_file(temp, driver=_GEO_DRIVERS[suffix], layer=layer or path.stem,
                      engine="pyogrio")
    return path


def _points_as_columns(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    if "easting" not in out and "northing" not in out:
        out["easting"], out["northing"] = frame.geometry.x.round(1), frame.geometry.y.round(1)
    return out


def _ready(path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_geo_layers(frames: Mapping[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """Write several layers (name: frame) into one GeoPackage, atomically."""
    path = _ready(path)
    if path.suffix.lower() != ".gpkg":
        raise AssetmapError("several layers need a GeoPackage (.gpkg)", file=path)
    with atomic_path(path) as temp:
        for layer, frame in frames.items():
            frame.to_file(temp, driver="GPKG", layer=layer, engine="pyogrio")
    return path


def write_xlsx(
    sheets: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    formats: Mapping[str, str] | None = None,
) -> Path:
    """Write a workbook for analysts, atomically: a sheet per frame, in order.

    Each sheet has a bold header row, frozen, with filters on; number formats by column
    name from ``formats`` (e.g. ``{"population": "#,##0"}``); columns sized to their
    contents. Every text cell is stored as text: one starting with ``= + - @`` never
    becomes a formula (and is quote-prefixed, so editing it in Excel keeps it text).
    Missing values are empty cells; sheet names are made valid (31 characters, no ``[]:*?/\\``).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    path = _ready(path)
    formats = formats or {}
    book = Workbook()
    book.remove(book.active)
    for title, frame in sheets.items():
        sheet = book.create_sheet(_sheet_title(title, book.sheetnames))
        for j, column in enumerate(frame.columns, start=1):
            header = _set_cell(sheet.cell(1, j), str(column))
            header.font, header.alignment = Font(bold=True), Alignment(wrap_text=True,
                                                                      vertical="top")
            cells = _cell_values(frame[column])
            for i, value in enumerate(cells, start=2):
                cell = _set_cell(sheet.cell(i, j), value)
                if str(column) in formats and not isinstance(value, str):
                    cell.number_format = formats[str(column)]
            longest = max((len(str(v)) for v in cells[:500] if v is not None), default=0)
            sheet.column_dimensions[get_column_letter(j)].width = min(
                max(longest, min(len(str(column)), 24), 6) + 2, 60)
        sheet.freeze_panes = "A2"
        if len(frame.columns):
            sheet.auto_filter.ref = sheet.dimensions
    with atomic_path(path) as temp:
        book.save(temp)
    return path


def _cell_values(values: pd.Series) -> list:
    """Python values for spreadsheet cells: numbers, booleans, text, or None (missing)."""
    if values.dtype.kind in "biuf":
        cast = values.astype(object).where(values.notna(), None)
        return [v.item() if isinstance(v, np.generic) else v for v in cast]
    out = []
    for value in values.astype(object):
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            out.append(None)
        elif isinstance(value, bool | int | float | np.generic):
            out.append(value.item() if isinstance(value, np.generic) else value)
        else:
            out.append(str(value))
    return out


def _set_cell(cell, value):
    """Put a value in an openpyxl cell; text always as text, never a formula."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"
        if value.startswith(_FORMULA_START):
            cell.quotePrefix = True
    else:
        cell.value = value
    return cell


def _sheet_title(title: str, taken: list[str]) -> str:
    """A valid, unused Excel sheet name."""
    base = re.sub(r"[\[\]:*?/\\]", "_", str(title)).strip("'")[:31] or "sheet"
    name, n = base, 1
    while name.casefold() in {t.casefold() for t in taken}:
        n += 1
        name = f"{base[:31 - len(str(n)) - 1]}_{n}"
    return name
