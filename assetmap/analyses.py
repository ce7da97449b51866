"""The gap and cluster analyses end to end, as the ``gaps``, ``clusters build`` and
``clusters overlap`` commands run them.

With :mod:`assetmap.pipeline` this is the orchestration layer: each function resolves a
boundary set, reads the registers and layers it is not given already loaded, reads the
population tables, and calls the step functions of :mod:`assetmap.gaps`,
:mod:`assetmap.clusters` and :mod:`assetmap.demand` in order, reporting progress through a
callback. Step modules never import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .boundaries import BoundarySet, as_boundary_set, layer_spec, load_layer, outline
from .clusters import (
    METHODS,
    ClusterResult,
    assign_members,
    check_members,
    describe_clusters,
    dissolve_areas,
    layer_kind,
    membership_from_column,
    nearest_clusters,
    overlap_table,
    read_membership,
    tiling,
    voronoi_clusters,
)
from .demand import locate_demand, place_demand, read_demand, shared_people
from .errors import AssetmapError
from .gaps import GapFormula, GapResult, gap_table, method_table
from .pipeline import Layers, Registers, join_registers, locate_registers
from .progress import Progress, no_progress
from .settings import WORK_CRS
from .taxonomy import Taxonomy, load_taxonomy

_FORMULA = GapFormula()  # the default: equal weights (a frozen dataclass)


def gap_analysis(
    paths: Registers,
    *,
    population: str | Path,
    deprivation: str | Path | None = None,
    by: Layers = ("ward",),
    category: str | Sequence[str] | None = None,
    small_areas: str = "lsoa",
    points: str = "postcodes",
    aggregation: str = "auto",
    threshold: float | Mapping[str, float] | None = None,
    formula: GapFormula = _FORMULA,
    capacity: str | None = None,
    demand_columns: Mapping[str, str] | None = None,
    boundaries: str | Path | BoundarySet = "bradford",
    postcodes: str | Path | None = None,
    taxonomy: Taxonomy | None = None,
    audit: pd.DataFrame | None = None,
    crs: str = WORK_CRS,
    progress: Progress = no_progress,
    **register_options,
) -> GapResult:
    """Registers to a gap table, as ``assetmap gaps`` runs it.

    Joins the registers (files, or located assets with their ``audit``) to the ``by``
    layers (names, or loaded layers by name) as :func:`assetmap.join_registers` does (a
    ``category`` is also given to registers with no type column), reads the demand tables
    for the boundary set's ``small_areas`` layer (taken from ``by`` when there), spreads
    them over ``points`` (``"postcodes"``: the postcode file, by default the boundary
    set's; or a layer whose areas' representative points are used, e.g. ``"oa"``), places
    them in each layer by ``aggregation`` (:data:`assetmap.demand.AGGREGATIONS`) and runs
    :func:`assetmap.gaps.gap_table`.
    """
    bset = as_boundary_set(boundaries)
    taxonomy = taxonomy or load_taxonomy()
    joined = join_registers(paths, layers=by, audit=audit, boundaries=bset, taxonomy=taxonomy,
                            postcodes=postcodes, category=_one(category), crs=crs,
                            progress=progress, **register_options)
    progress("Reading population and deprivation")
    if isinstance(by, Mapping):  # a loaded layer of that name, else the boundary set's
        small = by.get(small_areas)
    else:  # the boundary set's layer, if joined already
        small = next((joined.layers[item.name] for item in map(partial(layer_spec, bset), by)
                      if item == bset.spec(small_areas)), None)
    if small is None:
        small = load_layer(bset.spec(small_areas), crs=crs)
    demand = read_demand(population, small, deprivation=deprivation, columns=demand_columns)
    progress(f"Placing people at {points}")
    spread = locate_demand(demand, points, bset, postcodes=postcodes, crs=crs)
    placements = {name: place_demand(spread, layer, aggregation, small_areas=demand.areas)
                  for name, layer in joined.layers.items()}
    progress("Measuring distances and coverage")
    table, notes = gap_table(joined.assets, joined.layers, demand, spread, placements,
                             categories=category, taxonomy=taxonomy, threshold=threshold,
                             formula=formula, capacity=capacity)
    registers = paths["source"].unique() if isinstance(paths, gpd.GeoDataFrame) else paths
    method = method_table(table, demand, spread, placements, paths=registers,
                          small_areas=small_areas, formula=formula,
                          attribution=bset.attribution)
    return GapResult(table, joined.layers, joined.assets, joined.audit, demand, spread,
                     placements, method, demand.warnings + notes,
                     shared_people(placements, joined.layers, demand.areas))


def _one(category: str | Sequence[str] | None) -> str | None:
    return category if isinstance(category, str) or category is None else None


def build_clusters(
    paths: Registers,
    *,
    members: str | Path | None = None,
    cluster: str = "cluster",
    cluster_name: str | None = None,
    member_id: str | None = None,
    method: str = "nearest",
    blocks: str | gpd.GeoDataFrame = "oa",
    polygons: str | Path | gpd.GeoDataFrame | None = None,
    areas: str | Path | None = None,
    boundaries: str | Path | BoundarySet = "bradford",
    audit: pd.DataFrame | None = None,
    crs: str = WORK_CRS,
    progress: Progress = no_progress,
    **register_options,
) -> ClusterResult:
    """Cluster polygons (and Area Advisory Networks) from registers of member sites.

    Parameters
    ----------
    paths
        Registers of the member sites, read and located as by ``assetmap validate``
        (``register_options``: see :func:`assetmap.validate_registers`); or the sites
        already located, with their ``audit``.
    members
        Membership table (site id -> cluster). Without it, the registers' ``cluster``
        column names each site's cluster (``pcn_code`` in ``gp_practices.csv``).
    cluster, cluster_name, member_id
        Columns of the membership table (else the registers) holding the cluster code and
        name, and the site id (default: detected as a register's ID).
    method
        ``nearest`` (small areas of ``blocks``: a boundary-set layer such as ``oa`` or
        ``lsoa``, or that layer loaded), ``voronoi`` (clipped to the boundary set's study
        area), or ``file`` (``polygons``, a boundary file or loaded layer with a polygon
        per cluster).
    areas
        Table cluster -> area (columns ``cluster``, ``area``, optional ``area_name``):
        Area Advisory Networks are dissolved from it.
    """
    if method not in METHODS:
        raise AssetmapError(f"unknown method {method!r}; methods are {', '.join(METHODS)}")
    if (method == "file") != (polygons is not None):
        raise AssetmapError("give a polygon file with method 'file', and only then")
    bset = as_boundary_set(boundaries)
    study = None  # drawn once: it bounds the registers and the Voronoi cells
    if bset.study_area and (method == "voronoi" or not isinstance(paths, gpd.GeoDataFrame)):
        study = outline(load_layer(bset.spec(bset.study_area), crs=crs))
    assets, audit = locate_registers(paths, audit=audit, boundaries=bset, study_area=study,
                                     crs=crs, progress=progress, **register_options)
    progress("Matching sites to clusters")
    membership = (read_membership(members, cluster=cluster, cluster_name=cluster_name,
                                  member_id=member_id) if members is not None
                  else membership_from_column(assets, cluster, cluster_name))
    sites, warnings = assign_members(assets, membership, audit=audit)
    progress(f"Drawing clusters ({method})")
    if method == "file":
        drawn = describe_clusters(_layer(polygons, bset, crs), sites)
        area = outline(drawn)
    elif method == "nearest":
        layer = _layer(blocks, bset, crs)
        drawn, area = nearest_clusters(sites, layer), outline(layer)
    else:
        area = study if study is not None else outline(_layer(blocks, bset, crs))
        drawn = voronoi_clusters(sites, area)
    sites, more = check_members(sites, drawn, method)
    result_areas = None
    if areas is not None:
        progress("Dissolving clusters into areas")
        result_areas = dissolve_areas(drawn, areas)
    return ClusterResult(drawn, sites, result_areas, area, tiling(drawn, area), audit,
                         warnings + more)


def cluster_overlap(
    clusters: str | Path | gpd.GeoDataFrame,
    population: str | Path,
    *,
    layers: Layers = ("ward", "constituency"),
    population_layer: str | gpd.GeoDataFrame = "lsoa",
    population_code: str | None = None,
    population_column: str | None = None,
    boundaries: str | Path | BoundarySet = "bradford",
    crs: str = WORK_CRS,
    progress: Progress = no_progress,
) -> tuple[pd.DataFrame, list[str]]:
    """The overlap table of a cluster layer with statutory layers, and warnings.

    ``clusters`` is a cluster (or area) layer or its file; ``layers`` are loaded layers by
    name, or ``--layers`` items (see :func:`assetmap.boundaries.layer_spec`);
    ``population`` a table of people per area of ``population_layer`` (a layer of the
    boundary set, or that layer loaded), read by :func:`assetmap.demand.read_demand` (its
    code and population columns are detected unless named). See
    :func:`assetmap.clusters.overlap_table` for the table and the apportionment; a layer of
    Area Advisory Networks (:func:`assetmap.clusters.layer_kind`) gets ``aan_`` columns.
    """
    bset = as_boundary_set(boundaries)
    if not isinstance(clusters, gpd.GeoDataFrame):
        spec = layer_spec(bset, str(clusters))
        clusters = load_layer(spec, crs=crs)
        kind = layer_kind(spec)
    else:
        kind = layer_kind(clusters)
    progress("Loading layers and population")
    around = outline(clusters)  # a layer that misses it all is warned about
    loaded = dict(layers) if isinstance(layers, Mapping) else {
        spec.name: load_layer(spec, crs=crs, study_area=around)
        for spec in (layer_spec(bset, item) for item in layers)}
    named = {"code": population_code, "population": population_column}
    demand = read_demand(population, _layer(population_layer, bset, crs),
                         columns={role: column for role, column in named.items() if column})
    people, warnings = demand.areas[["code", "population", "geometry"]], demand.warnings
    progress("Overlaying clusters, layers and population")
    table, more = overlap_table(clusters, loaded, people, kind=kind)
    return table, warnings + more


def _layer(layer: str | Path | gpd.GeoDataFrame, bset: BoundarySet, crs: str
           ) -> gpd.GeoDataFrame:
    """A loaded layer as it is; else the one a ``--layers`` item names, loaded."""
    if isinstance(layer, gpd.GeoDataFrame):
        return layer
    return load_layer(layer_spec(bset, str(layer)), crs=crs)
