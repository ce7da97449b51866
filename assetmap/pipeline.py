"""The register-to-areas flow end to end, as the ``validate``, ``join`` and ``map`` commands
run it.

Each function resolves a boundary set (layers, postcode file, study area) and then calls
the step functions in order; notebooks can call either these or the steps themselves.
Registers may be given as files or as assets already located, layers by name or already
loaded. Progress is reported through a callback (a spinner in the CLI; silent by default).
With :mod:`assetmap.analyses` this is the orchestration layer: step modules never import it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import shapely

from .boundaries import BoundarySet, as_boundary_set, layer_spec, load_layer, outline
from .errors import AssetmapError
from .join import count_by_area, join
from .locate import ASSET_COLUMNS, AUDIT_COLUMNS, load_assets
from .outputs import join_outputs, write_geo, write_geo_layers, write_table
from .postcodes import PostcodeIndex
from .progress import Progress, no_progress
from .settings import EDGE_TOLERANCE_M, GPKG_MAX_FIELDS, WORK_CRS
from .taxonomy import Taxonomy, load_taxonomy

if TYPE_CHECKING:
    import folium

#: Where the join runs: in this process, or on a dask.distributed cluster.
ENGINES = ("memory", "dask")
#: Registers: their files, or located assets (as :func:`validate_registers` returns them).
Registers = Sequence[str | Path] | gpd.GeoDataFrame
#: Boundary layers: loaded ones by name, or items naming them (see :func:`layer_spec`).
Layers = Sequence[str] | Mapping[str, gpd.GeoDataFrame]


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
    index = None if postcode_file is None else PostcodeIndex.loader(postcode_file,
                                                                    announce=progress)
    if not use_study_area:
        study_area = None
    elif study_area is None and bset.study_area:
        progress(f"Drawing the study area from layer {bset.study_area!r}")
        study_area = outline(load_layer(bset.spec(bset.study_area), crs=crs))
    progress("Reading and locating registers")
    return load_assets(paths, postcodes=index, study_area=study_area,
                       taxonomy=taxonomy, crs=crs, **register_options)


def locate_registers(
    paths: Registers, *, audit: pd.DataFrame | None = None, **validate_options
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """``(assets, audit)`` of registers: files are read and located by
    :func:`validate_registers` (``validate_options``); located assets, as it returns them,
    are taken as they are, with their ``audit`` (default: an empty one)."""
    if not isinstance(paths, gpd.GeoDataFrame):
        return validate_registers(paths, **validate_options)
    missing = [column for column in ASSET_COLUMNS if column not in paths.columns]
    if missing:
        raise AssetmapError(f"the assets have no {missing[0]!r} column: pass register files, "
                            "or located assets as validate_registers returns them")
    crs = validate_options.get("crs", WORK_CRS)
    if paths.crs != crs:
        raise AssetmapError(f"the assets are in {paths.crs}, not {crs}: reproject them first")
    return paths, pd.DataFrame(columns=AUDIT_COLUMNS) if audit is None else audit


def load_layers(
    items: Layers | None,
    boundaries: str | Path | BoundarySet = "bradford",
    *,
    study_area: bool = True,
    crs: str = WORK_CRS,
    progress: Progress = no_progress,
) -> tuple[dict[str, gpd.GeoDataFrame], shapely.Geometry | None]:
    """Boundary layers by name, and the study-area outline (or ``None``).

    ``items`` are loaded layers by name, taken as they are (the outline is drawn from the
    boundary set's study-area layer if they hold it), or items as :func:`layer_spec` reads
    them: names from the boundary set, paths to boundary files, or ``NAME=PATH`` (default:
    every layer of the set). Then the study-area layer is read once, when ``study_area`` is
    true or it is among them; every other layer is warned about if it misses the outline.
    """
    bset = as_boundary_set(boundaries)
    if isinstance(items, Mapping):
        loaded = dict(items)
        return loaded, outline(loaded[bset.study_area]) if bset.study_area in loaded else None
    specs = [layer_spec(bset, name) for name in items or list(bset.layers)]
    study = bset.layers.get(bset.study_area) if bset.study_area else None
    loaded, area = {}, None
    if study is not None and (study in specs or study_area):
        progress(f"Drawing the study area from layer {bset.study_area!r}")
        study_layer = load_layer(study, crs=crs)  # read once: outline, layer, overlap test
        area = outline(study_layer)
    for spec in specs:
        progress(f"Loading layer {spec.name!r}")
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # reading and repair release the GIL
        reading = {spec.name: pool.submit(load_layer, spec, crs=crs, study_area=area)
                   for spec in specs if spec != study}
    loaded.update({spec.name: study_layer if spec == study else reading[spec.name].result()
                   for spec in specs})
    return loaded, area


def join_registers(
    paths: Registers,
    *,
    layers: Layers | None = None,
    audit: pd.DataFrame | None = None,
    boundaries: str | Path | BoundarySet = "bradford",
    taxonomy: Taxonomy | None = None,
    tolerance: float = EDGE_TOLERANCE_M,
    crs: str = WORK_CRS,
    engine: str = "memory",
    scheduler: str | None = None,
    progress: Progress = no_progress,
    **validate_options,
) -> JoinResult:
    """Validate registers, then join their assets to layers and count them per area.

    ``paths`` are register files, or located assets with their ``audit``
    (:func:`locate_registers`); ``layers`` loaded layers by name, or items naming them
    (:func:`load_layers`; default: every layer of the boundary set). ``engine="dask"`` joins
    on a ``dask.distributed`` cluster (``scheduler``: its address; default a local one,
    :func:`assetmap.distributed.client_for`), with the same result. Other options as for
    :func:`validate_registers`.
    """
    if engine not in ENGINES:
        raise AssetmapError(f"unknown engine {engine!r}; engines are {', '.join(ENGINES)}")
    bset = as_boundary_set(boundaries)
    taxonomy = taxonomy or load_taxonomy()
    located = isinstance(paths, gpd.GeoDataFrame)
    loaded, area = load_layers(
        layers, bset, study_area=not located and validate_options.get("use_study_area", True),
        crs=crs, progress=progress)
    assets, audit = locate_registers(paths, audit=audit, boundaries=bset, taxonomy=taxonomy,
                                     crs=crs, study_area=area, progress=progress,
                                     tolerance=tolerance, **validate_options)
    progress("Joining assets to layers")
    if engine == "dask":  # the same join, on partitions of the points across a cluster
        from .distributed import client_for, join_distributed

        with client_for(scheduler) as client:
            joined = join_distributed(assets, loaded, tolerance=tolerance, client=client)
    else:
        joined = join(assets, loaded, tolerance=tolerance)
    present = set(joined["category"].dropna().unique())
    counts = count_by_area(joined, loaded,
                           categories=[c for c in taxonomy.labels() if c in present])
    return JoinResult(joined, audit, counts, loaded)


def map_registers(
    paths: Registers,
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

