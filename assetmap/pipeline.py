"""The register-to-areas flow end to end, as the ``validate``, ``join`` and ``map`` commands
run it.

Each function resolves a boundary set (layers, postcode file, study area) and then calls
the step functions in order; notebooks can call either these or the steps themselves.
Progress is reported through a callback (a spinner in the CLI; silent by default).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import shapely

from .boundaries import BoundarySet, LayerSpec, as_boundary_set, load_layer, outline
from .errors import AssetmapError
from .join import count_by_area, join
from .locate import load_assets
from .maps import make_map
from .outputs import write_geo, write_table
from .postcodes import PostcodeIndex
from .settings import EDGE_TOLERANCE_M, WORK_CRS
from .taxonomy import Taxonomy, load_taxonomy

Progress = Callable[[str], None]


def no_progress(message: str) -> None:
    """The default progress callback: says nothing."""


@dataclass
class JoinResult:
    """Assets tagged with every layer, the row audit, counts per area, and the layers."""

    assets: gpd.GeoDataFrame
    audit: pd.DataFrame
    counts: pd.DataFrame
    layers: dict[str, gpd.GeoDataFrame]


def write_join(result: JoinResult, output: str | Path) -> list[Path]:
    """Write the joined assets (``output``: .gpkg, .geojson or .csv), and beside them
    ``<name>_counts.csv`` and ``<name>_audit.csv``."""
    output = Path(output)
    return [write_geo(result.assets, output, layer="assets"),
            write_table(result.counts, output.with_name(f"{output.stem}_counts.csv")),
            write_table(result.audit, output.with_name(f"{output.stem}_audit.csv"))]


def validate_registers(
    paths: Sequence[str | Path],
    *,
    boundaries: str | Path | BoundarySet = "bradford",
    postcodes: str | Path | None = None,
    taxonomy: Taxonomy | None = None,
    use_study_area: bool = True,
    study_area: shapely.Geometry | None = None,
    crs: str = WORK_CRS,
    progress: Progress = no_progress,
    **register_options,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Read and locate registers against a boundary set: ``(assets, audit)``.

    ``boundaries`` supplies the postcode file (unless ``postcodes`` is given) and the
    study-area outline (unless ``use_study_area`` is false, or the outline is given as
    ``study_area``). ``taxonomy`` defaults to the built-in one. ``register_options`` go to
    :func:`assetmap.load_assets` (``category``, ``sheet``, ``roles``, ``tolerance``).
    """
    bset = as_boundary_set(boundaries)
    postcode_file = postcodes or bset.postcodes
    index = None
    if postcode_file is not None:
        progress(f"Loading postcodes from {Path(postcode_file).name}")
        index = PostcodeIndex.from_file(postcode_file)
    if not use_study_area:
        study_area = None
    elif study_area is None and bset.study_area:
        progress(f"Drawing the study area from layer {bset.study_area!r}")
        study_area = outline(load_layer(bset.spec(bset.study_area), crs=crs))
    progress("Reading and locating registers")
    return load_assets(paths, postcodes=index, study_area=study_area,
                       taxonomy=taxonomy, crs=crs, **register_options)


def join_registers(
    paths: Sequence[str | Path],
    *,
    layers: Sequence[str] | None = None,
    boundaries: str | Path | BoundarySet = "bradford",
    taxonomy: Taxonomy | None = None,
    tolerance: float = EDGE_TOLERANCE_M,
    crs: str = WORK_CRS,
    progress: Progress = no_progress,
    **validate_options,
) -> JoinResult:
    """Validate registers, then join their assets to layers and count them per area.

    ``layers`` are items as :func:`layer_spec` reads them: names from the boundary set,
    paths to boundary files, or ``NAME=PATH`` (default: every layer of the set). Other
    options as for :func:`validate_registers`.
    """
    bset = as_boundary_set(boundaries)
    taxonomy = taxonomy or load_taxonomy()
    loaded, area = {}, None
    for name in layers or list(bset.layers):
        spec = layer_spec(bset, name)
        progress(f"Loading layer {spec.name!r}")
        loaded[spec.name] = load_layer(spec, crs=crs)
        if bset.study_area and spec == bset.layers.get(bset.study_area):
            area = outline(loaded[spec.name])  # the study area's layer, read once
    assets, audit = validate_registers(paths, boundaries=bset, taxonomy=taxonomy, crs=crs,
                                       study_area=area, progress=progress,
                                       tolerance=tolerance, **validate_options)
    progress("Joining assets to layers")
    joined = join(assets, loaded, tolerance=tolerance)
    present = set(joined["category"].dropna())
    counts = count_by_area(joined, loaded,
                           categories=[c for c in taxonomy.labels() if c in present])
    return JoinResult(joined, audit, counts, loaded)


def map_registers(
    paths: Sequence[str | Path],
    *,
    layers: Sequence[str] | None = None,
    boundaries: str | Path | BoundarySet = "bradford",
    measures: pd.DataFrame | None = None,
    map_options: dict | None = None,
    progress: Progress = no_progress,
    **join_options,
) -> folium.Map:
    """Join registers to layers, then map them: layers carry the asset counts per area.

    ``measures`` adds per-area columns to shade (``layer``, ``code`` and numbers, such as a
    gap table from :func:`assetmap.read_gap_table`). ``map_options`` go to
    :func:`assetmap.make_map` (``measure=(layer, column)``, where column is a category
    label, ``"total"`` or a ``measures`` column; ``scheme``, ``coverage``, ``tiles``,
    ``title``, ...); the boundary set supplies the attribution and layer labels. Other
    options as for :func:`join_registers`.
    """
    bset = as_boundary_set(boundaries)
    result = join_registers(paths, layers=layers, boundaries=bset, progress=progress,
                            **join_options)
    progress("Drawing the map")
    per_area = result.counts
    if measures is not None:
        extra = measures.drop(columns=[c for c in measures if c in per_area and c not in
                                       ("layer", "code")])
        per_area = per_area.merge(extra, on=["layer", "code"], how="left")
    counted = {
        name: layer.merge(per_area[per_area["layer"] == name].drop(columns=["layer", "name"]),
                          on="code", how="left")
        for name, layer in result.layers.items()
    }
    labels = {name: bset.layers[name].label for name in counted if name in bset.layers}
    return make_map(counted, result.assets, taxonomy=join_options.get("taxonomy"),
                    attribution=bset.attribution, labels=labels, **(map_options or {}))


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
