"""Cluster geographies: groups of member sites drawn as polygons, Area Advisory Networks, and
how clusters overlap wards and constituencies.

A cluster (a Primary Care Network of GP practices, a cluster of schools) is a membership
list, not a boundary. Its polygon is drawn from where its members are:

``nearest``
    each building-block small area (output area or LSOA) goes to the cluster of its nearest
    member site, measured from the area's polygon (an area holding a site goes to that
    site's cluster; ties go to the site nearest the area's inner point, then to the lowest
    cluster code). Boundaries follow statistical geography; the clusters tile the blocks'
    outline.
``voronoi``
    the Voronoi cells of the member sites, clipped to the study area and dissolved per
    cluster. Boundaries run halfway between sites of different clusters; the clusters tile
    the study-area outline, and every site lies in its own cluster's polygon.

Sites sharing a location (a health centre housing several practices) are one Voronoi site.
Where they belong to different clusters the cell is split into equal wedges around the
site, one per cluster, each turned towards that cluster's nearest other member: the site
then lies on the border of each of its clusters' polygons (``assetmap join`` gives such a
point the lowest code). ``nearest`` gives the small area holding them to one cluster. Both
are reported as warnings.

Everything is measured in the working CRS (EPSG:27700).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from .boundaries import LayerSpec
from .errors import AssetmapError
from .join import resolve_ties
from .locate import id_key
from .outputs import cluster_outputs, write_geo, write_table
from .registers import Register, filled_text, read_register

#: Ways to draw cluster polygons (``file``: take them from a polygon file).
METHODS = ("nearest", "voronoi", "file")
#: Holes smaller than this (m²) in a dissolved cluster are gaps between small areas: filled.
PINHOLE_M2 = 1.0
#: A small area no more than this share of which lies outside the clusters and a layer's
#: areas counts as wholly inside (the rest: slivers of separately generalised outlines).
SLIVER_SHARE = 0.05
#: Kinds of cluster layer: the prefix of the overlap table's columns, and the words for them.
KINDS = {"cluster": "clusters", "aan": "Area Advisory Networks"}
#: Decimals of the overlap table as written: whole people, 0.1% and 0.001 km² (1,000 m²).
OVERLAP_DECIMALS = {"area_km2": 3, "population": 0, "share": 1}
_ARC_POINTS = 33


@dataclass
class ClusterResult:
    """Cluster polygons, their member sites, Area Advisory Networks, and what was noticed.

    ``clusters``: ``code``, ``name``, ``members``, ``area_km2``, geometry (one row per
    cluster). ``members``: one point per member site with ``cluster_code``,
    ``cluster_name`` and ``distance_m`` to its own cluster's polygon (0 inside or on the
    border). ``areas``: as ``clusters`` plus ``clusters`` (codes), or ``None``. ``outline``
    is what the clusters tile, and ``tiling`` how well (see :func:`tiling`); ``audit`` the
    register rows as ``validate`` reports them.
    """

    clusters: gpd.GeoDataFrame
    members: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame | None
    outline: shapely.Geometry
    tiling: tuple[float, float]
    audit: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def read_membership(
    path: str | Path,
    *,
    cluster: str = "cluster",
    cluster_name: str | None = None,
    member_id: str | None = None,
    sheet: str | None = None,
) -> pd.DataFrame:
    """Read a membership table (site id -> cluster).

    Returns ``source``, ``row``, ``id``, ``cluster``, ``cluster_name`` (the code where no
    name column is given), one row per non-blank table row. ``member_id`` is the site-id
    column; default: the column a register's ID is read from (*ID*, *URN*, *Practice
    code*, *ODS code*, ...).
    """
    register = read_register(path, sheet=sheet,
                             roles={"id": member_id} if member_id else None)
    if "id" not in register.roles:
        raise AssetmapError("no site-id column found; name it (e.g. --member-id URN)",
                            file=register.path)
    codes = _cells(register, cluster)
    table = pd.DataFrame({"source": str(register.path), "row": register.frame.index,
                          "id": register.column("id").str.strip().to_numpy(),
                          "cluster": codes.to_numpy(),
                          "cluster_name": (_cells(register, cluster_name) if cluster_name
                                           else codes).to_numpy()})
    table = table[(table[["id", "cluster"]] != "").any(axis=1)]
    table.attrs.update(id=register.roles["id"], cluster=cluster, by="id")
    return table


def membership_from_column(
    assets: gpd.GeoDataFrame, cluster: str, cluster_name: str | None = None
) -> pd.DataFrame:
    """The membership a register column gives (``pcn_code``), as :func:`read_membership`.

    Sites are matched to it by register row, so the registers need no ID column.
    """
    for column in filter(None, (cluster, cluster_name)):
        if column not in assets.columns:
            raise AssetmapError("no such column in the registers; columns are "
                                f"{', '.join(map(str, assets.columns.drop('geometry')))}",
                                file=", ".join(assets["source"].unique()), column=column)
    codes = filled_text(assets[cluster]).str.strip()
    names = filled_text(assets[cluster_name]).str.strip() if cluster_name else codes
    table = pd.DataFrame({"source": assets["source"].to_numpy(), "row": assets["row"].to_numpy(),
                          "id": assets["id"].astype(str).str.strip().to_numpy(),
                          "cluster": codes.to_numpy(), "cluster_name": names.to_numpy()})
    table.attrs.update(id="id", cluster=cluster, by="row")
    return table


def assign_members(
    assets: gpd.GeoDataFrame, membership: pd.DataFrame, *, audit: pd.DataFrame | None = None
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Give located sites their cluster.

    Returns the member sites (``source``, ``row``, ``id``, ``name``, ``cluster_code``,
    ``cluster_name``, geometry) and warnings: membership rows with no cluster or no id,
    ids not in the registers or not located (per ``audit``), located sites in no cluster.

    Raises
    ------
    AssetmapError
        A site listed in two clusters; a cluster with no located member.
    """
    by = membership.attrs.get("by", "id")
    id_column = membership.attrs.get("id", "id")
    cluster_column = membership.attrs.get("cluster", "cluster")
    table = membership.assign(key=_keys(membership, by))
    warnings = [
        _where(f"{len(rows)} rows have no {what}, not used: rows {_listed(rows['row'])}",
               rows["source"].iloc[0], column=column)
        for what, column, rows in (
            ("cluster", cluster_column, table[table["cluster"] == ""]),
            ("site id", id_column, table[(table["id"] == "") & (by == "id")]))
        if len(rows)]
    pairs = table[(table["cluster"] != "") & ((table["id"] != "") | (by == "row"))
                  ].drop_duplicates(["key", "cluster"])
    twice = pairs[pairs["key"].duplicated(keep="first")]
    if len(twice):
        again = twice.iloc[0]
        first = pairs[pairs["key"] == again["key"]].iloc[0]
        raise AssetmapError(f"site {again['id']} is listed in two clusters: {first['cluster']} "
                            f"(row {first['row']}) and {again['cluster']}",
                            file=again["source"], row=int(again["row"]), column=id_column)
    if pairs.empty:
        raise AssetmapError("no site has a cluster", file=", ".join(table["source"].unique()),
                            column=cluster_column)
    if by == "id" and (assets["id"].astype(str).str.strip() == "").all():
        raise AssetmapError("the registers have no ID column to match the membership's site "
                            "ids with; name it (-c id=COLUMN)",
                            file=", ".join(assets["source"].unique()))
    keys = _keys(assets, by)
    found = pairs["key"].isin(keys)
    if not found.all():
        lost = pairs[~found]
        why = (audit.assign(key=_keys(audit, by)).query("status != 'located'")
               .drop_duplicates("key").set_index("key")["reason"]
               if audit is not None else pd.Series(dtype=object))
        reason = why.reindex(lost["key"]).to_numpy()
        note = np.where(pd.isna(reason), "not in the registers",
                        "not located: " + filled_text(pd.Series(reason)))
        warnings.append(_where(f"{len(lost)} member sites are not used: " + _listed(
            lost["id"] + " (row " + lost["row"].astype(str) + ", " + note + ")"),
            lost["source"].iloc[0], column=id_column))
    empty = sorted(set(pairs["cluster"]) - set(pairs.loc[found, "cluster"]))
    if empty:
        row = pairs[pairs["cluster"] == empty[0]].iloc[0]
        raise AssetmapError(f"cluster {empty[0]} has no located member site"
                            + (f" (nor have {', '.join(empty[1:])})" if empty[1:] else ""),
                            file=row["source"], row=int(row["row"]), column=cluster_column)
    cluster_of = pairs[found].set_index("key")
    member = keys.isin(cluster_of.index).to_numpy()
    if not member.all():
        warnings.append(f"{(~member).sum()} located sites are in no cluster, not used: "
                        + _listed(_label(assets)[~member]))
    codes = cluster_of["cluster"].reindex(keys[member]).to_numpy()
    named = cluster_of[cluster_of["cluster_name"] != ""].drop_duplicates("cluster")
    names = named.set_index("cluster")["cluster_name"].reindex(codes).to_numpy()
    sites = gpd.GeoDataFrame(
        {"source": assets["source"].to_numpy()[member], "row": assets["row"].to_numpy()[member],
         "id": assets["id"].to_numpy()[member], "name": assets["name"].to_numpy()[member],
         "cluster_code": codes, "cluster_name": np.where(pd.isna(names), codes, names)},
        geometry=np.asarray(assets.geometry.array)[member], crs=assets.crs)
    return sites, warnings


def _keys(frame: pd.DataFrame, by: str) -> pd.Series:
    """How sites are matched: their id (any case), or their register file and row."""
    if by == "row":
        return frame["source"].astype(str) + "\n" + frame["row"].astype(str)
    return id_key(frame["id"].astype(str))


def nearest_clusters(members: gpd.GeoDataFrame, blocks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Cluster polygons: each small area of ``blocks`` joins its nearest member's cluster.

    Distances are from the area's polygon; ties go to the site nearest the area's inner
    point, then to the lowest cluster code.
    """
    sites = np.asarray(members.geometry.array)
    polygons = np.asarray(blocks.geometry.array)
    block_i, site_i = shapely.STRtree(sites).query_nearest(polygons, all_matches=True)
    codes = members["cluster_code"].to_numpy()
    chosen = np.full(len(polygons), -1, dtype=np.int64)
    chosen[block_i] = site_i
    inner = shapely.point_on_surface(polygons)
    resolve_ties(chosen, block_i, site_i, shapely.distance(inner[block_i], sites[site_i]),
                  np.unique(codes, return_inverse=True)[1])
    found = chosen >= 0  # an empty block has no nearest site
    return _dissolve(polygons[found], codes[chosen[found]], members)


def voronoi_clusters(members: gpd.GeoDataFrame, study_area: shapely.Geometry) -> gpd.GeoDataFrame:
    """Cluster polygons: Voronoi cells of the member sites clipped to ``study_area``.

    Sites at the same location are one Voronoi site; a cell shared by several clusters is
    split into wedges around the site (see the module notes).
    """
    places, place_of = np.unique(shapely.get_coordinates(members.geometry.array), axis=0,
                                 return_inverse=True)
    points = shapely.points(places)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points),
                                                       extend_to=study_area))
    point_i, cell_i = shapely.STRtree(cells).query(points, predicate="within")
    ordered = np.empty(len(points), dtype=object)
    ordered[point_i] = cells[cell_i]
    shapely.prepare(study_area)
    clipped = shapely.intersection(ordered, study_area)
    pairs = pd.DataFrame({"place": place_of.ravel(), "code": members["cluster_code"].to_numpy()}
                         ).drop_duplicates().sort_values(["place", "code"], ignore_index=True)
    pieces = clipped[pairs["place"].to_numpy()]
    shared = (pairs.groupby("place")["code"].transform("size") > 1).to_numpy()
    if shared.any():
        radius = 2 * np.hypot(*np.ptp(np.r_[places, shapely.get_coordinates(
            shapely.envelope(study_area))], axis=0))
        pieces[shared] = shapely.intersection(
            pieces[shared], _wedges(places, pairs, shared, radius))
    return _dissolve(pieces, pairs["code"].to_numpy(), members)


def _wedges(places: np.ndarray, pairs: pd.DataFrame, shared: np.ndarray, radius: float
            ) -> np.ndarray:
    """One wedge polygon per shared (place, cluster) pair, apex at the place.

    The k clusters at a place get equal wedges in the circular order of the directions to
    each cluster's nearest member elsewhere, rotated to centre them on those directions
    (least squares on the circle); a cluster with no member elsewhere comes last.
    """
    split = pairs[shared].reset_index(drop=True)
    others = pd.DataFrame({"code": pairs["code"], "other": pairs["place"]})
    candidates = split.reset_index().merge(others, on="code")
    candidates = candidates[candidates["other"] != candidates["place"]]
    step = places[candidates["other"].to_numpy()] - places[candidates["place"].to_numpy()]
    candidates = candidates.assign(distance=np.hypot(*step.T),
                                   angle=np.arctan2(step[:, 1], step[:, 0]))
    nearest = candidates.loc[candidates.groupby("index")["distance"].idxmin()]
    split["angle"] = nearest.set_index("index")["angle"].reindex(split.index)
    split = split.assign(unknown=split["angle"].isna()).sort_values(
        ["place", "unknown", "angle", "code"])
    k = split.groupby("place")["code"].transform("size").to_numpy()
    position = split.groupby("place").cumcount().to_numpy()
    turn = split["angle"].fillna(0).to_numpy() - 2 * np.pi * (position + 0.5) / k
    known = ~split["unknown"].to_numpy()
    place = split["place"].to_numpy()
    fit = np.arctan2(np.bincount(place, weights=known * np.sin(turn)),
                     np.bincount(place, weights=known * np.cos(turn)))
    start = fit[place] + 2 * np.pi * position / k
    arc = start[:, None] + (2 * np.pi / k)[:, None] * np.linspace(0, 1, _ARC_POINTS)
    apex = places[split["place"].to_numpy()]
    ring = np.concatenate([apex[:, None], apex[:, None] + radius * np.stack(
        [np.cos(arc), np.sin(arc)], axis=-1), apex[:, None]], axis=1)
    wedges = np.empty(len(split), dtype=object)
    wedges[split.index.to_numpy()] = shapely.polygons(ring)
    return wedges


def _dissolve(pieces: np.ndarray, codes: np.ndarray, members: gpd.GeoDataFrame
              ) -> gpd.GeoDataFrame:
    """Union the pieces per cluster code (dropping empty results), as
    :func:`describe_clusters` describes them."""
    frame = gpd.GeoDataFrame({"code": codes}, geometry=pieces, crs=members.crs).dissolve(
        "code", as_index=False)
    frame = frame[~(frame.geometry.is_empty | frame.geometry.isna())]
    frame.geometry = _without_pinholes(frame.geometry.array)
    names = members.drop_duplicates("cluster_code").set_index("cluster_code")["cluster_name"]
    return describe_clusters(frame.assign(name=names.reindex(frame["code"]).to_numpy()),
                             members)


def _without_pinholes(geometries) -> np.ndarray:
    """MultiPolygons without holes under :data:`PINHOLE_M2`.

    Separately digitised small areas leave gaps of a few cm² between them (Bradford's LSOAs:
    3,131, all under 0.003 m²); dissolved, they become pinholes that points can fall into
    and that make overlays fail.
    """
    parts, part_of = shapely.get_parts(np.asarray(geometries), return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    shell = np.r_[True, ring_of[1:] != ring_of[:-1]]
    keep = shell | (shapely.area(shapely.polygons(rings)) >= PINHOLE_M2)
    return shapely.multipolygons(shapely.polygons(rings[keep], indices=ring_of[keep]),
                                 indices=part_of)


def describe_clusters(clusters: gpd.GeoDataFrame, members: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A cluster layer as written: ``code``, ``name``, ``members`` (count), ``area_km2``."""
    counts = members["cluster_code"].value_counts().reindex(clusters["code"]).fillna(0)
    return gpd.GeoDataFrame({"code": clusters["code"].to_numpy(),
                             "name": clusters["name"].to_numpy(),
                             "members": counts.astype(int).to_numpy(),
                             "area_km2": clusters.geometry.area.to_numpy() / 1e6},
                            geometry=clusters.geometry.to_numpy(), crs=clusters.crs)


def dissolve_areas(
    clusters: gpd.GeoDataFrame,
    path: str | Path,
    *,
    cluster: str = "cluster",
    area: str = "area",
    area_name: str = "area_name",
    sheet: str | None = None,
) -> gpd.GeoDataFrame:
    """Area Advisory Networks: clusters dissolved by a table cluster -> area.

    ``path`` is a table (CSV, XLSX) with columns ``cluster``, ``area`` and, optionally,
    ``area_name`` (default: the area code). Returns ``code``, ``name``, ``clusters`` (their
    codes), ``members``, ``area_km2``.

    Raises
    ------
    AssetmapError
        A blank cell, an unknown cluster, a cluster in two areas, or one in none.
    """
    register = read_register(path, sheet=sheet)
    table = pd.DataFrame({"cluster": _cells(register, cluster), "area": _cells(register, area),
                          "area_name": _cells(register, area_name if area_name in
                                              register.frame.columns else area)})
    table = table[(table != "").any(axis=1)]
    for column, role in ((cluster, "cluster"), (area, "area")):
        if (table[role] == "").any():
            raise AssetmapError(f"no {role} given", file=register.path,
                                row=int(table.index[table[role] == ""][0]), column=column)
    unknown = ~table["cluster"].isin(clusters["code"])
    if unknown.any():
        raise AssetmapError(f"cluster {table.loc[unknown, 'cluster'].iloc[0]!r} is not one of "
                            f"the {len(clusters)} clusters", file=register.path,
                            row=int(table.index[unknown][0]), column=cluster)
    table = table.drop_duplicates(["cluster", "area"])
    twice = table.duplicated("cluster", keep="first")
    if twice.any():
        again = table[twice].iloc[0]
        first = table[table["cluster"] == again["cluster"]].iloc[0]
        raise AssetmapError(f"cluster {again['cluster']!r} is already in area "
                            f"{first['area']!r} (row {first.name})", file=register.path,
                            row=int(again.name), column=cluster)
    missing = sorted(set(clusters["code"]) - set(table["cluster"]))
    if missing:
        raise AssetmapError(f"clusters {', '.join(missing)} are in no area: each cluster must "
                            "be in exactly one", file=register.path, column=cluster)
    tagged = clusters.merge(table, left_on="code", right_on="cluster")
    areas = tagged.dissolve("area", as_index=False, aggfunc={
        "area_name": "first", "code": lambda c: ", ".join(sorted(c)), "members": "sum"})
    geometry = _without_pinholes(areas.geometry.array)
    return gpd.GeoDataFrame({"code": areas["area"], "name": areas["area_name"],
                             "clusters": areas["code"], "members": areas["members"],
                             "area_km2": shapely.area(geometry) / 1e6},
                            geometry=geometry, crs=clusters.crs)


def tiling(polygons: gpd.GeoDataFrame, study_area: shapely.Geometry) -> tuple[float, float]:
    """How well ``polygons`` tile ``study_area``: (area difference in %, largest overlap m²).

    The difference is (sum of the polygons' areas - the study area's) / the study area's.
    """
    geometries = np.asarray(polygons.geometry.array)
    left, right = shapely.STRtree(geometries).query(geometries, predicate="intersects")
    once = left < right
    overlaps = shapely.area(shapely.intersection(geometries[left[once]], geometries[right[once]]))
    whole = shapely.area(study_area)
    return (100 * (shapely.area(geometries).sum() - whole) / whole,
            float(overlaps.max()) if len(overlaps) else 0.0)


def overlap_table(
    clusters: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    population: gpd.GeoDataFrame,
    *,
    kind: str = "cluster",
) -> tuple[pd.DataFrame, list[str]]:
    """Which areas of each layer every cluster covers, and the population in each piece.

    Each small area's ``population`` is spread over its pieces (cluster x area x small
    area) in proportion to their area. A small area at least 95% covered by the pieces
    counts as wholly covered (the rest are slivers where separately generalised outlines
    disagree, as along Bradford's edge), so no one is lost to them; of one less covered,
    the people of the uncovered part are not counted, and a warning says so. Returns one
    row per cluster and area they share: ``layer``, ``cluster_code``,
    ``cluster_name``, ``code``, ``name``, ``area_km2``, ``population``,
    ``share_of_cluster`` (% of the cluster's population in the area: 100 per cluster and
    layer) and ``share_of_area`` (% of the area's population in the cluster), and the
    warnings. With ``kind="aan"`` (Area Advisory Networks, see :data:`KINDS`) the
    columns are ``aan_code``, ``aan_name`` and ``share_of_aan``; ``attrs["kind"]`` says
    which. Figures are unrounded (:func:`write_overlap` rounds them).
    """
    small = np.asarray(population.geometry.array)
    people = population["population"].to_numpy(dtype=float)
    full = shapely.area(small)
    tables, warnings = [], []
    for name, layer in layers.items():
        cluster_i, area_i, pieces = _pieces(np.asarray(clusters.geometry.array),
                                            np.asarray(layer.geometry.array))
        piece_i, small_i, parts = _pieces(pieces, small)
        area = shapely.area(parts)
        covered = np.bincount(small_i, weights=area, minlength=len(small))
        whole = covered >= (1 - SLIVER_SHARE) * full
        share = area / np.where(whole, covered, full)[small_i]
        short = ~whole & (people > 0)
        if short.any():
            warnings.append(
                f"{name}: {short.sum()} small areas lie partly or wholly outside the "
                f"clusters; {people @ np.where(whole, 0, 1 - covered / full):,.0f} people "
                f"are not counted: {_listed(population['code'][short])}")
        table = pd.DataFrame({
            "layer": name, f"{kind}_code": clusters["code"].to_numpy()[cluster_i],
            f"{kind}_name": clusters["name"].to_numpy()[cluster_i],
            "code": layer["code"].to_numpy()[area_i], "name": layer["name"].to_numpy()[area_i],
            "area_km2": shapely.area(pieces) / 1e6,
            "population": np.bincount(piece_i, weights=people[small_i] * share,
                                      minlength=len(pieces))})
        for key, column in ((f"{kind}_code", f"share_of_{kind}"), ("code", "share_of_area")):
            total = table.groupby(key)["population"].transform("sum")
            table[column] = 100 * table["population"] / total.where(total > 0)
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    table.attrs["kind"] = kind
    return table, warnings


def write_overlap(table: pd.DataFrame, path: str | Path) -> Path:
    """Write an overlap table (CSV) rounded as :data:`OVERLAP_DECIMALS` says."""
    shares = [column for column in table if column.startswith("share_of_")]
    rounded = table.round({"area_km2": OVERLAP_DECIMALS["area_km2"],
                           **dict.fromkeys(shares, OVERLAP_DECIMALS["share"])})
    rounded["population"] = table["population"].round().astype("Int64")
    return write_table(rounded, path)


def layer_kind(layer: gpd.GeoDataFrame | LayerSpec) -> str:
    """``"aan"`` for Area Advisory Networks (as :func:`dissolve_areas` writes them: a
    ``clusters`` column), else ``"cluster"``."""
    if isinstance(layer, LayerSpec):
        columns = pyogrio.read_info(layer.file, layer=layer.layer)["fields"]
    else:
        columns = layer.columns
    return "aan" if "clusters" in list(columns) else "cluster"


def _pieces(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions and geometry of every overlap (of positive area) between two polygon sets."""
    left_i, right_i = shapely.STRtree(right).query(left, predicate="intersects")
    pieces = shapely.intersection(left[left_i], right[right_i])
    keep = shapely.area(pieces) > 0
    return left_i[keep], right_i[keep], pieces[keep]


def check_members(sites: gpd.GeoDataFrame, clusters: gpd.GeoDataFrame, method: str
                  ) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The member sites with ``distance_m`` to their own cluster's polygon (0 inside or on
    the border), and warnings: sites of different clusters at one location (and what
    ``method`` made of them), clusters with no polygon, sites outside their cluster's."""
    warnings = _shared_place_warnings(sites, method)
    own = clusters.set_index("code").geometry.reindex(sites["cluster_code"])
    sites = sites.assign(distance_m=shapely.distance(sites.geometry.array, own.array))
    unplaced = sorted(set(sites["cluster_code"]) - set(clusters["code"]))
    if unplaced:
        warnings.append(f"{len(unplaced)} clusters have no polygon: {_listed(unplaced)}")
    away = sites[sites["distance_m"] > 0]
    if len(away):
        warnings.append(f"{len(away)} sites lie outside their cluster's polygon: " + _listed(
            _label(away) + " (" + away["cluster_code"] + ", "
            + away["distance_m"].round().astype(int).astype(str) + " m)"))
    return sites, warnings


def write_clusters(result: ClusterResult, output: str | Path) -> list[Path]:
    """Write the cluster polygons (``output``: .gpkg or .geojson), and beside them
    ``<name>_members.csv``, ``<name>_audit.csv`` and, with areas, ``<name>_areas``."""
    output, members, audit, *areas = cluster_outputs(output, areas=result.areas is not None)
    return [write_geo(result.clusters, output), write_geo(result.members, members),
            write_table(result.audit, audit),
            *(write_geo(result.areas, path) for path in areas)]


def _cells(register: Register, column: str) -> pd.Series:
    """A column of a table read as a register, stripped; a one-line error if there is none."""
    if column not in register.frame.columns:
        raise AssetmapError(f"no such column; columns are {', '.join(register.frame.columns)}",
                            file=register.path, column=column)
    return register.frame[column].astype(str).str.strip()


def _shared_place_warnings(sites: gpd.GeoDataFrame, method: str) -> list[str]:
    """One warning per location shared by sites of different clusters."""
    place = np.unique(shapely.get_coordinates(sites.geometry.array), axis=0,
                      return_inverse=True)[1].ravel()
    mixed = (sites.groupby(place)["cluster_code"].transform("nunique") > 1).to_numpy()
    outcome = {
        "voronoi": "the Voronoi cell is split between the clusters through the site, which "
                   "lies on their border (join gives it the lowest code)",
        "nearest": "the small area holding them goes to one cluster",
        "file": "one point cannot lie inside both clusters' polygons",
    }[method]
    return [f"sites {', '.join(_label(group) + ' (' + group['cluster_code'] + ')')} share a "
            f"location in different clusters: {outcome}"
            for _, group in sites[mixed].groupby(place[mixed], sort=True)]


def _label(sites: pd.DataFrame) -> pd.Series:
    """How a site is named in messages: its id, else its register row."""
    return sites["id"].where(sites["id"] != "", "row " + sites["row"].astype(str))


def _where(message: str, file=None, row: int | None = None, column: str | None = None) -> str:
    """A warning worded like an :class:`AssetmapError` (file, row, column: message)."""
    return str(AssetmapError(message, file=file, row=row, column=column))


def _listed(values, most: int = 10) -> str:
    values = [str(v) for v in values]
    return ", ".join(values[:most]) + (f" and {len(values) - most} more" if len(values) > most
                                       else "")
