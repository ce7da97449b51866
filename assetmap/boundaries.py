"""Boundary layers: read from any OGR format, reprojected, repaired, with code and name columns.

A layer is a GeoDataFrame with columns ``code``, ``name`` and ``geometry`` in the working
CRS. ``attrs`` records its ``source`` and how many geometries were ``repaired``.

Boundary *sets* (TOML files in ``boundaries/``) name the layers of a study area, the postcode
file that locates its registers, the layer whose outline is the study area, and the
attribution the data requires.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import AssetmapError, first_line
from .settings import WORK_CRS, data_dir, resource_dir

_ONS_CODE = re.compile(r"^[A-Za-z]+\d{2}(CD)$", re.IGNORECASE)


@dataclass(frozen=True)
class LayerSpec:
    """Where a boundary layer's file is and which columns hold the area code and name."""

    name: str
    file: Path
    code: str | None = None
    name_column: str | None = None
    label: str = ""
    layer: str | None = None
    crs: str | None = None  # assumed when the file declares none


@dataclass(frozen=True)
class BoundarySet:
    """The layers, postcode file, study-area layer and attribution of one study area."""

    name: str
    layers: dict[str, LayerSpec]
    study_area: str | None = None
    postcodes: Path | None = None
    attribution: list[str] = field(default_factory=list)

    def spec(self, name: str) -> LayerSpec:
        if name not in self.layers:
            raise AssetmapError(f"no layer {name!r} in boundary set {self.name!r}; "
                                f"layers are {', '.join(self.layers)}")
        return self.layers[name]


def load_boundary_set(name_or_path: str | Path = "bradford",
                      data: str | Path | None = None) -> BoundarySet:
    """Read a boundary set: a name from ``boundaries/`` (``"bradford"``) or a TOML path.

    Relative file paths in it are taken from the data folder ``data`` (default:
    :func:`assetmap.settings.data_dir`).
    """
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = resource_dir("boundaries") / f"{name_or_path}.toml"
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = sorted(p.stem for p in resource_dir("boundaries").glob("*.toml"))
        raise AssetmapError(f"no boundary set; known sets are {', '.join(known)}",
                            file=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise AssetmapError(f"not valid TOML ({exc})", file=path) from None
    base = Path(data) if data is not None else data_dir()
    layers = {
        key: LayerSpec(name=key, file=base / entry["file"], code=entry.get("code"),
                       name_column=entry.get("name"), label=entry.get("label", key),
                       layer=entry.get("layer"), crs=entry.get("crs"))
        for key, entry in spec.get("layers", {}).items()
    }
    return BoundarySet(
        name=spec.get("name", path.stem), layers=layers, study_area=spec.get("study_area"),
        postcodes=base / spec["postcodes"] if spec.get("postcodes") else None,
        attribution=list(spec.get("attribution", [])))


def as_boundary_set(value: str | Path | BoundarySet) -> BoundarySet:
    """A boundary set as given, or loaded by :func:`load_boundary_set`."""
    return value if isinstance(value, BoundarySet) else load_boundary_set(value)


def load_layer(
    source: str | Path | LayerSpec,
    *,
    code: str | None = None,
    name: str | None = None,
    crs: str = WORK_CRS,
    engine: str = "pyogrio",
) -> gpd.GeoDataFrame:
    """Read a boundary layer as ``code``, ``name``, ``geometry`` in ``crs``.

    Invalid polygons are repaired and features sharing a code merged into one area;
    ``attrs`` counts both (``repaired``, ``merged``).

    Parameters
    ----------
    source
        A file any OGR driver reads, or a :class:`LayerSpec`.
    code, name
        Columns holding the area code and name. Default: the layer definition's, else
        ONS-style columns (``WD13CD``/``WD13NM``, ``lsoa11cd``/``lsoa11nm``, ...), else
        columns named ``code`` and ``name``.
    crs
        CRS to reproject to (British National Grid by default).
    engine
        ``"pyogrio"`` (default) or ``"fiona"``.
    """
    spec = source if isinstance(source, LayerSpec) else LayerSpec(Path(source).stem,
                                                                  Path(source))
    path = spec.file
    if not path.exists():
        raise AssetmapError("boundary file not found", file=path)
    try:
        frame = gpd.read_file(path, layer=spec.layer, engine=engine)
    except Exception as exc:
        raise AssetmapError(f"cannot read as a boundary layer ({first_line(exc)})",
                            file=path) from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.isna().all():
        raise AssetmapError("not a boundary layer: no areas with a geometry", file=path)
    if frame.crs is None:
        if spec.crs is None:
            raise AssetmapError("boundary layer has no CRS; give one with 'crs' in its "
                                "layer definition", file=path)
        frame = frame.set_crs(spec.crs)
    code = code or spec.code or _ons_column(frame.columns, "CD", path)
    name = name or spec.name_column or _ons_column(frame.columns, "NM", path, code)
    for role, column in (("code", code), ("name", name)):
        if column not in frame.columns:
            raise AssetmapError(f"no such {role} column; columns are "
                                f"{', '.join(map(str, frame.columns.drop('geometry')))}",
                                file=path, column=column)
    geometry, repaired = repair(frame.geometry.to_crs(crs).array)
    layer = gpd.GeoDataFrame(
        {"code": frame[code].astype(str).to_numpy(), "name": frame[name].astype(str).to_numpy()},
        geometry=np.asarray(geometry), crs=crs)
    parts = len(layer)
    if layer["code"].duplicated().any():  # one area stored as several features
        layer = layer.dissolve("code", as_index=False, aggfunc={"name": "first"})[
            ["code", "name", "geometry"]]
    layer.attrs.update(source=str(path), repaired=repaired, merged=parts - len(layer),
                       layer=spec.name)
    return layer


def repair(geometries) -> tuple[np.ndarray, int]:
    """Make invalid polygons valid, keeping only their polygonal parts; count the repairs."""
    geometries = np.asarray(geometries)
    invalid = ~shapely.is_valid(geometries)
    fixed = geometries.copy()
    if invalid.any():
        fixed[invalid] = shapely.make_valid(geometries[invalid], method="structure",
                                            keep_collapsed=False)
    return fixed, int(invalid.sum())


def outline(layer: gpd.GeoDataFrame):
    """The union of a layer's areas (its study-area outline)."""
    return shapely.union_all(layer.geometry.array)


def _ons_column(columns: pd.Index, kind: str, path: Path, code: str | None = None) -> str:
    """An ONS-style code (``..CD``) or name (``..NM``) column, else one named ``code`` or
    ``name`` (as assetmap writes its own layers)."""
    names = [str(c) for c in columns]
    plain = "code" if kind == "CD" else "name"
    if kind == "CD":
        found = [c for c in names if _ONS_CODE.match(c)]
    else:
        stem = code[:-2] if code and code.upper().endswith("CD") else ""
        found = [c for c in names if c.upper() == f"{stem}NM".upper()] or [
            c for c in names if re.match(r"^[A-Za-z]+\d{2}NM$", c, re.IGNORECASE)]
    found += [c for c in names if c.lower() == plain]
    if not found:
        raise AssetmapError(f"cannot tell which column holds the area {plain}; name it in the "
                            f"layer definition ('{plain}' key)", file=path)
    return found[0]
