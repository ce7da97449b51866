"""The register-to-areas flow end to end, as the ``validate``, ``join`` and ``map`` commands
run it.

Each function resolves a boundary set (layers, postcode file, study area) and then calls
the step functions in order; notebooks can call either these or the steps themselves.
Progress is reported through a callback (a spinner in the CLI; silent by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import shapely

from .boundaries import BoundarySet, as_boundary_set, layer_spec, load_layer, outline
from .errors import AssetmapError
from .join import count_by_area, join
from .locate import load_assets
from .outputs import join_outputs, write_geo, write_geo_layers, write_table
from .postcodes import PostcodeIndex
from .progress import Progress, no_progress
from .settings import EDGE_TOLERANCE_M, GPKG_MAX_FIELDS, WORK_CRS
from .taxonomy import Taxonomy, load_taxonomy

if TYPE_CHECKING:
    import folium

@dataclass
class JoinResult:
    """Assets tagged with every layer, the row audit, counts per area, and the layers."""

    assets: gpd.GeoDataFrame
    audit: pd.DataFrame
    counts: pd.DataFrame
    layers: dict[str, gpd.GeoDataFrame]


def write_join(result: JoinResult, output: str | Path) -> list[Path]:
    """Write the joined assets (``output``: .gpkg, .geojson or .csv), and beside them
    ``<name>_counts.csv`` and ``<name>_audit.csv``.

    A GeoPackage also holds the counts on the areas: a polygon layer ``<layer>_counts`` per
    boundary layer (``code``, ``name``, a column per category, ``total``).
    """
    output, counts, audit = join_outputs(output)
    if output.suffix.lower() == ".gpkg":
        fields = len(result.assets.columns) - 1
        if fields > GPKG_MAX_FIELDS:
            raise AssetmapError(f"the joined assets have {fields:,} columns, more than a "
                                f"GeoPackage holds ({GPKG_MAX_FIELDS:,}); write .csv instead",
                                file=output)
        areas = {f"{name}_counts": counted_layer(result, name) for name in result.layers}
        geo = write_geo_layers({"assets": result.assets, **areas}, output)
    else:
        geo = write_geo(result.assets, output, layer="assets")
    return [geo, write_table(result.counts, counts), write_table(result.audit, audit)]


def counted_layer(result: JoinResult, name: str) -> gpd.GeoDataFrame:
    """A boundary layer's areas with their asset counts (a column per category, ``total``)."""
    counts = result.counts[result.counts["layer"] == name].drop(columns=["layer", "name"])
    return result.layers[name].merge(counts, on="code", how="left")


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
    specs = [layer_spec(bset, name) for name in layers or list(bset.layers)]
    study = bset.layers.get(bset.study_area) if bset.study_area else None
    loaded, area = {}, None
    if study is not None and (study in specs or validate_options.get("use_study_area", True)):
        progress(f"Drawing the study area from layer {bset.study_area!r}")
        study_layer = load_layer(study, crs=crs)  # read once: outline, layer, overlap test
        area = outline(study_layer)
    for spec in specs:
        progress(f"Loading layer {spec.name!r}")
        loaded[spec.name] = study_layer if spec == study else load_layer(
            spec, crs=crs, study_area=area)
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
    from .maps import make_map  # folium and mapclassify only when a map is made

    if measures is not None and not {"layer", "code"} <= set(measures.columns):
        raise AssetmapError("measures need 'layer' and 'code' columns (as a gap table has)")
    bset = as_boundary_set(boundaries)
    result = join_registers(paths, layers=layers, boundaries=bset, progress=progress,
                            **join_options)
    progress("Drawing the map")
    counted = {name: counted_layer(result, name) for name in result.layers}
    if measures is not None:
        counted = {name: layer.merge(
            measures[measures["layer"] == name].drop(
                columns=["layer", *(c for c in measures if c in layer and c != "code")]),
            on="code", how="left") for name, layer in counted.items()}
    labels = {name: bset.layers[name].label for name in counted if name in bset.layers}
    return make_map(counted, result.assets, taxonomy=join_options.get("taxonomy"),
                    attribution=bset.attribution, labels=labels, **(map_options or {}))

