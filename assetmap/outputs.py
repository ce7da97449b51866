"""Writing results: atomically (a temporary file beside the target, then a rename), and safely
for spreadsheets (no text cell becomes a live formula when Excel opens it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
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


def defuse_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` whose text cells starting with ``= + - @`` are kept as text.

    Such cells get a leading apostrophe, the spreadsheet convention for "this is text".
    Plain numbers typed as text (``-1.75``) are left alone: they are not formulas.
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype.kind in "biufcmM" or isinstance(values.dtype, gpd.array.GeometryDtype):
            continue
        text = values.astype(str)
        risky = (values.notna() & text.str.startswith(_FORMULA_START)
                 & ~text.str.match(_PLAIN_NUMBER))
        if risky.any():
            out[column] = values.astype(object).where(~risky, "'" + text)
    return out


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
