"""Boundary layers: read from any OGR format, reprojected, repaired, with code and name columns.

A layer is a GeoDataFrame with columns ``code``, ``name`` and ``geometry`` in the working
CRS. ``attrs`` records its ``source`` and how many geometries were ``repaired``.

Boundary *sets* (TOML files in ``boundaries/``) name the layers of a study area, the postcode
file that locates its registers, the layer whose outline is the study area, and the
attribution the data requires.
"""

from __future__ import annotations

import os
import re
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .errors import AssetmapError, first_line, refuse_special_file, warn
from .settings import WORK_CRS, data_dir, resource_dir

_ONS_CODE = re.compile(r"^[A-Za-z]+\d{2}(CD)$", re.IGNORECASE)
_GEOMETRY_TYPES = ["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                   "MultiLineString", "MultiPolygon", "GeometryCollection"]
_POLYGONAL = [3, 6]  # shapely type ids of Polygon and MultiPolygon


@dataclass(frozen=True)
class AreaTable:
    """Areas made of a layer's features by a lookup table (``[layers.NAME.areas]``): each
    feature's code, found in the ``key`` column, goes to the area of the ``code`` and
    ``name`` columns (local authority districts from LSOAs with the IMD table)."""

    table: Path
    key: str
    code: str
    name: str


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
    where: str | None = None  # an OGR SQL filter on the features ("lsoa11cd LIKE 'E%'")
    areas: AreaTable | None = None


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
    refuse_special_file(path)
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = sorted(p.stem for p in resource_dir("boundaries").glob("*.toml"))
        raise AssetmapError(f"no boundary set; known sets are {', '.join(known)}",
                            file=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise AssetmapError(f"not valid TOML ({exc})", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AssetmapError(f"cannot read the boundary set ({first_line(exc)})",
                            file=path) from None
    base = Path(data) if data is not None else data_dir()
    entries = spec.get("layers", {})
    for key, entry in entries.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise AssetmapError(f"layer {key!r} needs a file: [layers.{key}] file = \"...\"",
                                file=path)
    layers = {
        key: LayerSpec(name=key, file=base / entry["file"], code=entry.get("code"),
                       name_column=entry.get("name"), label=entry.get("label", key),
                       layer=entry.get("layer"), crs=entry.get("crs"), where=entry.get("where"),
                       areas=_area_table(entry.get("areas"), base, key, path))
        for key, entry in entries.items()
    }
    return BoundarySet(
        name=spec.get("name", path.stem), layers=layers, study_area=spec.get("study_area"),
        postcodes=base / spec["postcodes"] if spec.get("postcodes") else None,
        attribution=list(spec.get("attribution", [])))


def _area_table(entry, base: Path, key: str, path: Path) -> AreaTable | None:
    """``[layers.NAME.areas]``: table, key, code and name, all required."""
    if entry is None:
        return None
    fields = ("table", "key", "code", "name")
    if not isinstance(entry, dict) or not all(isinstance(entry.get(f), str) for f in fields):
        raise AssetmapError(f"[layers.{key}.areas] needs table, key, code and name (text)",
                            file=path)
    return AreaTable(base / entry["table"], entry["key"], entry["code"], entry["name"])


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
    study_area: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """Read a boundary layer as ``code``, ``name``, ``geometry`` in ``crs``.

    A layer must hold polygons whose coordinates fit its declared CRS (degrees for a
    geographic CRS, metres for a projected one): anything else is an error. Features with
    no geometry are dropped, invalid polygons repaired and features sharing a code merged
    into one area; ``attrs`` counts them (``dropped``, ``repaired``, ``merged``) and an
    :class:`~assetmap.errors.AssetmapWarning` names the dropped and merged codes.

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
    study_area
        Outline (in ``crs``) the layer should overlap; a warning says when it does not.
    """
    spec = source if isinstance(source, LayerSpec) else LayerSpec(Path(source).stem,
                                                                  Path(source))
    path = spec.file
    if not path.exists():
        raise AssetmapError("boundary file not found", file=path)
    refuse_special_file(path)
    try:
        frame = gpd.read_file(path, layer=spec.layer, engine=engine,
                              **({"where": spec.where} if spec.where else {}))
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
    frame, dropped = _drop_missing(frame, code, path)
    _check_codes(frame[code], path)
    _check_polygons(frame.geometry.array, path)
    _check_coordinates(frame.geometry.array, frame.crs, path)
    geometry, repaired = repair(frame.geometry.to_crs(crs).array)
    layer = gpd.GeoDataFrame(
        {"code": frame[code].astype(str).to_numpy(), "name": frame[name].astype(str).to_numpy()},
        geometry=np.asarray(geometry), crs=crs)
    features = layer["code"].to_numpy()
    if spec.areas is not None:
        layer, features = _areas_of(layer, spec.areas)
    parts = len(layer)
    shared = layer["code"][layer["code"].duplicated()].unique()
    if spec.areas is not None:
        areas = layer["code"].to_numpy()
        layer = merge_by_code(layer)
        layer.attrs["parts"] = Parts(str(path), features, np.searchsorted(
            layer["code"].to_numpy(), areas))  # merged codes are sorted and unique
    elif len(shared):  # one area stored as several features
        warn(f"features sharing a code are merged into one area ({len(shared)} codes, "
             f"{parts - layer['code'].nunique()} features merged): {_listed(shared)}",
             file=path)
        layer = merge_by_code(layer)
    if study_area is not None and not shapely.intersects(outline(layer), study_area):
        warn("no area of the layer overlaps the study area (the wrong file, or a wrong CRS?): "
             "nothing will be inside its areas", file=path)
    layer.attrs.update(source=str(path), repaired=repaired, merged=parts - len(layer),
                       dropped=dropped, layer=spec.name)
    return layer


@dataclass(frozen=True, eq=False)
class Parts:
    """The features a layer's areas were dissolved from (its ``attrs["parts"]``): the file
    they were read from, their own ``codes`` and the position of each one's ``area``."""

    source: str
    codes: np.ndarray
    area: np.ndarray

    def __deepcopy__(self, memo) -> Parts:  # pandas copies attrs at each step; never changed
        return self

    def of(self, small_areas: gpd.GeoDataFrame) -> np.ndarray | None:
        """Each small area's position in the layer when the layer was dissolved from exactly
        these features (read from the same file, each once), else ``None``."""
        codes = pd.Index(self.codes)
        if (small_areas.attrs.get("source") != self.source or len(small_areas) != len(codes)
                or not codes.is_unique):
            return None
        at = codes.get_indexer(small_areas["code"].to_numpy())
        return None if (at < 0).any() else self.area[at]


def merge_by_code(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One area per code, in code order: its features' union (the first's name), as
    ``dissolve`` gives it; the unions run on every core (GEOS releases the GIL)."""
    order = np.argsort(layer["code"].to_numpy(), kind="stable")
    codes = layer["code"].to_numpy()[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    groups = np.split(np.asarray(layer.geometry.array)[order], starts[1:])
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        merged = list(pool.map(shapely.union_all, groups))
    return gpd.GeoDataFrame({"code": codes[starts],
                             "name": layer["name"].to_numpy()[order][starts]},
                            geometry=merged, crs=layer.crs)


def _areas_of(layer: gpd.GeoDataFrame, areas: AreaTable
              ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The features re-coded to the areas the table puts them in (to be dissolved), and
    their own codes; those not in the table are left out, with a warning."""
    if not areas.table.exists():
        raise AssetmapError("area table not found", file=areas.table)
    try:
        table = pd.read_csv(areas.table, dtype=str, keep_default_na=False,
                            usecols=[areas.key, areas.code, areas.name])
    except ValueError as exc:
        raise AssetmapError(f"cannot read the area table ({first_line(exc)})",
                            file=areas.table) from None
    lookup = table.drop_duplicates(areas.key).set_index(areas.key)
    found = layer["code"].isin(lookup.index).to_numpy()
    if not found.any():
        raise AssetmapError(f"no feature's code is in column {areas.key!r}",
                            file=areas.table)
    if not found.all():
        warn(f"{(~found).sum():,} features are in no area of the table and are left out: "
             f"{_listed(layer['code'].to_numpy()[~found])}", file=areas.table)
    layer = layer[found]
    rows = lookup.loc[layer["code"]]
    return gpd.GeoDataFrame({"code": rows[areas.code].to_numpy(),
                             "name": rows[areas.name].to_numpy()},
                            geometry=layer.geometry.to_numpy(), crs=layer.crs
                            ), layer["code"].to_numpy()


def _drop_missing(frame: gpd.GeoDataFrame, code: str, path: Path
                  ) -> tuple[gpd.GeoDataFrame, int]:
    """The features that have a geometry; a warning names the codes of the others."""
    missing = (frame.geometry.isna() | frame.geometry.is_empty).to_numpy()
    if missing.all():
        raise AssetmapError("not a boundary layer: no areas with a geometry", file=path)
    if missing.any():
        warn(f"features with no geometry are left out ({missing.sum()}): "
             f"{_listed(frame[code].astype(str).to_numpy()[missing])}", file=path)
    return frame[~missing], int(missing.sum())


def _check_codes(codes: pd.Series, path: Path) -> None:
    """A one-line error when an area has no code: it could be neither counted nor named."""
    blank = codes.isna() | (codes.astype(str).str.strip() == "")
    if blank.any():
        raise AssetmapError(f"{blank.sum()} of {len(codes)} areas have no code: every area "
                            "needs one", file=path, column=codes.name)


def _check_polygons(geometries, path: Path) -> None:
    """A one-line error unless every geometry is a polygon or multipolygon."""
    kinds = pd.Series(shapely.get_type_id(geometries))
    other = kinds[~kinds.isin(_POLYGONAL)]
    if len(other):
        found = ", ".join(f"{n} {_GEOMETRY_TYPES[kind]}" for kind, n in
                          other.value_counts().sort_index().items())
        raise AssetmapError(f"not a boundary layer: areas must be polygons, found {found} "
                            f"(of {len(kinds)} features)", file=path)


def _check_coordinates(geometries, crs: pyproj.CRS, path: Path) -> None:
    """A one-line error when the coordinates cannot be in the layer's CRS: metres in a
    geographic CRS, or only degree-sized numbers in a projected one."""
    bounds = shapely.total_bounds(geometries)
    west, south, east, north = bounds
    degrees = _fits(bounds, (-180, -90, 180, 90))
    declared = crs.to_string()
    if crs.is_geographic and not degrees:
        looks = ("British National Grid metres (EPSG:27700)"
                 if _fits(bounds, (0, 0, 700_000, 1_300_000)) else "projected metres")
        raise AssetmapError(f"the layer declares {declared} (degrees) but its coordinates "
                            f"({west:.0f}, {south:.0f} to {east:.0f}, {north:.0f}) look like "
                            f"{looks}; fix the file's CRS", file=path)
    if crs.is_projected and degrees:
        raise AssetmapError(f"the layer declares {declared} (metres) but its coordinates "
                            f"({west:.4g}, {south:.4g} to {east:.4g}, {north:.4g}) look like "
                            "longitude/latitude degrees (EPSG:4326); fix the file's CRS",
                            file=path)


def _fits(bounds: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    """Whether ``bounds`` (west, south, east, north) lie within ``box``."""
    return bool((bounds[:2] >= box[:2]).all() and (bounds[2:] <= box[2:]).all())


def _listed(codes, most: int = 5) -> str:
    """Up to ``most`` codes, and how many more."""
    codes = list(codes)
    more = f" and {len(codes) - most} more" if len(codes) > most else ""
    return ", ".join(map(str, codes[:most])) + more


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


def layer_spec(bset: BoundarySet, item: str) -> LayerSpec:
    """The layer one ``--layers`` item names.

    ``NAME`` is a layer of the boundary set; ``PATH`` a boundary file, named after the file;
    ``NAME=PATH`` a boundary file under that name (``pcn=pcn.gpkg``). Its code and name
    columns are found as :func:`load_layer` finds them.
    """
    name, sep, path = (part.strip() for part in item.partition("="))
    if sep and not (name and path):
        raise AssetmapError(f"expected NAME=PATH in --layers, got {item!r}")
    if not sep:
        if name in bset.layers or not Path(name).suffix:
            return bset.spec(name)
        name, path = Path(name).stem, name
    return LayerSpec(name, Path(path))
