"""What changes when sites open or close: gap tables before and after, compared per area,
and the people who lose (or gain) their last site within reach.

Used by ``assetmap plan``: a what-if closes or opens named sites; a location-allocation
plan opens the sites it chooses. :class:`SiteChange` holds both runs and
:func:`write_site_change` writes them (XLSX, CSV, GeoPackage, JSON summary).
"""

from __future__ import annotations

import difflib
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from .costs import STRAIGHT_LINE, Costs
from .demand import Placement, sum_by_area
from .errors import AssetmapError
from .locate import id_key, name_key
from .outputs import write_geo_layers, write_table, write_xlsx
from .registers import filled_text, stacked
from .taxonomy import Taxonomy

if TYPE_CHECKING:
    import folium

#: Gap table columns compared before and after a change.
COMPARED = ("assets", "coverage_residents_pct", "coverage_children_pct", "distance_median_m",
            "gap_score", "rank")
_KEYS = ["layer", "code", "name", "category"]
#: The map's layers of changed sites (change: words after the category, colour): a what-if's
#: and a snapshot diff's.
_MARKS = {"opened": ("proposed", "#000000"), "closed": ("closing", "#9e9e9e")}
_DIFF_MARKS = {"opened": ("opened", "#000000"), "closed": ("closed", "#9e9e9e"),
               "moved": ("moved", "#6a3d9a")}


@dataclass
class SiteChange:
    """Sites opened or closed, and what it does: ``sites`` (the changed sites: ``change`` is
    ``opened`` or ``closed``; a plan's in order of marginal gain, with ``gain``), ``changes``
    (per layer, area and category: each compared measure before, after and its change,
    and residents and children losing or gaining their last site within reach), the gap
    tables ``before`` and ``after``, the ``layers``, the sites ``assets_after``, and a
    ``summary`` (JSON-ready: objective, optimality, time, reductions, totals). A snapshot
    diff (:func:`assetmap.plans.diff_snapshots`) also has ``matches``: every row of both
    snapshots with its status (:func:`assetmap.diff.match_snapshots`), a pair's geometry the
    line from its old place to its new one; its ``sites`` carry ``new_row``."""

    sites: gpd.GeoDataFrame
    changes: pd.DataFrame
    before: pd.DataFrame
    after: pd.DataFrame
    layers: dict[str, gpd.GeoDataFrame]
    assets_after: gpd.GeoDataFrame
    summary: dict
    warnings: list[str] = field(default_factory=list)
    matches: gpd.GeoDataFrame | None = None


def find_sites(sites: pd.DataFrame, names: Sequence[str], *, what: str = "site"
               ) -> np.ndarray:
    """Positions of the sites named by ID or by name (case, spacing and punctuation
    ignored). An unknown name, or one naming several sites, is a one-line error with the
    closest names."""
    ids = id_key(filled_text(sites["id"])).to_numpy()
    keys = name_key(filled_text(sites["name"])).to_numpy()
    found = []
    for name in names:
        text = str(name).strip()
        hits = np.flatnonzero(ids == text.casefold())
        if not len(hits):
            hits = np.flatnonzero(keys == name_key(pd.Series([text])).iloc[0])
        if len(hits) != 1:
            known = {name.casefold(): name for name in sites["name"].dropna().astype(str)}
            close = [known[n] for n in difflib.get_close_matches(text.casefold(), known, n=3,
                                                                 cutoff=0.6)]
            problem = (f"{len(hits)} {what}s are named {text!r}: give the ID" if len(hits)
                       else f"no {what} has the ID or name {text!r}")
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise AssetmapError(problem + hint)
        found.append(hits[0])
    return np.asarray(found, dtype=int)


def compare_tables(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Per layer, area and category: each of :data:`COMPARED` before, after and its change
    (``<column>_before``, ``_after``, ``_change``)."""
    columns = [c for c in COMPARED if c in before and c in after]
    merged = before[[*_KEYS, *columns]].merge(after[[*_KEYS, *columns]], on=_KEYS,
                                              suffixes=("_before", "_after"), validate="1:1")
    out = merged[_KEYS].copy()
    for column in columns:
        out[f"{column}_before"] = merged[f"{column}_before"]
        out[f"{column}_after"] = merged[f"{column}_after"]
        out[f"{column}_change"] = merged[f"{column}_after"] - merged[f"{column}_before"]
    return out


def reach_changes(points: gpd.GeoDataFrame, before: np.ndarray, after: np.ndarray,
                  threshold: float, *, costs: Costs = STRAIGHT_LINE) -> pd.DataFrame:
    """Per demand point: residents and children who lose their last site within
    ``threshold`` (a site before, none after) and who gain one (none before, one after).
    ``before`` and ``after`` are the sites' coordinates (or points)."""
    xy = points.geometry.get_coordinates().to_numpy()
    was = costs.nearest(xy, before) <= threshold
    now = costs.nearest(xy, after) <= threshold
    people = {group: points[group].to_numpy(float) for group in ("population", "children")
              if group in points}
    return pd.DataFrame({f"{'residents' if group == 'population' else group}_{way}":
                         values * mask for group, values in people.items()
                         for way, mask in (("losing", was & ~now), ("gaining", ~was & now))},
                        index=points.index)


def reach_by_area(changes: pd.DataFrame, placements: Mapping[str, Placement],
                  layers: Mapping[str, gpd.GeoDataFrame], small_areas: gpd.GeoDataFrame
                  ) -> pd.DataFrame:
    """:func:`reach_changes` summed per area of each layer (``layer``, ``code``, ...)."""
    frames = []
    for name, layer in layers.items():
        sums = sum_by_area(changes, placements[name], layer, small_areas)
        frames.append(sums.round(0).assign(layer=name, code=layer["code"].to_numpy()))
    return pd.concat(frames, ignore_index=True)


def write_site_change(result: SiteChange, output: str | Path, *, taxonomy: Taxonomy,
                      map_options: Mapping | None = None) -> list[Path]:
    """``<output>.xlsx`` (sites, changes per area by layer, summary), ``.csv`` (changes),
    ``.gpkg`` (sites, and each layer with its changes), ``.json`` (the summary) and
    ``.html`` (:func:`change_map`, with ``map_options``). A snapshot diff's ``matches`` go
    to the XLSX, to ``<output>_matches.csv`` and, as lines from old place to new, to the
    GeoPackage's ``moves`` layer (moved rows)."""
    from .maps import write_map

    diff = result.matches is not None
    to_xlsx, to_csv, to_gpkg, to_json, to_html, *to_matches = site_change_outputs(
        output, diff=diff)
    matches = {} if not diff else {"matches": result.matches.drop(columns="geometry")}
    sheets = {"sites": result.sites.drop(columns="geometry"), **matches,
              **{name: rows.drop(columns="layer")
                 for name, rows in result.changes.groupby("layer", sort=False)},
              "summary": pd.DataFrame(_flat(result.summary), columns=["item", "value"])}
    geo = {"sites": result.sites}
    if diff:
        geo["moves"] = result.matches[result.matches["status"] == "moved"]
    for name, layer in result.layers.items():
        rows = result.changes[result.changes["layer"] == name].drop(columns=["layer", "name"])
        geo[name] = layer[["code", "name", "geometry"]].merge(rows, on="code", how="left")
    to_json.write_text(json.dumps(result.summary, indent=2, ensure_ascii=False,
                                  default=_json) + "\n", encoding="utf-8")
    return [write_xlsx(sheets, to_xlsx), write_table(result.changes, to_csv),
            write_geo_layers(geo, to_gpkg), to_json,
            write_map(change_map(result, taxonomy, **(map_options or {})), to_html),
            *(write_table(matches["matches"], path) for path in to_matches)]


def change_map(result: SiteChange, taxonomy: Taxonomy, *, title: str = "",
               attribution: Sequence[str] = (), tiles: str = "openstreetmap",
               labels: Mapping[str, str] | None = None) -> folium.Map:
    """The change on a map: every layer with its changes, the first shaded by the change in
    coverage; the sites, with the ones opened (``<category> (proposed)``, black) and closed
    (``<category> (closing)``, grey) in layers of their own; the area newly within reach.
    A snapshot diff's are ``(opened)``, ``(closed)`` (recategorised into or out of the
    category too) and ``(moved)`` (purple, with a line from the old place to the new)."""
    from .maps import make_map

    label, group = result.summary["category"], result.before["group"].iloc[0]
    layers = {name: layer.merge(result.changes[result.changes["layer"] == name].drop(
        columns=["layer", "name", "category"]), on="code", how="left")
        for name, layer in result.layers.items()}
    diff = result.matches is not None
    marks = _DIFF_MARKS if diff else _MARKS
    change = result.sites["change"].to_numpy()
    if diff:  # recategorised: opened or closed for this category
        into = (result.sites["category"] == label).to_numpy()
        change = np.where(change == "recategorised", np.where(into, "opened", "closed"),
                          change)
    shown_sites = np.isin(change, list(marks))
    marked = result.sites[shown_sites].assign(category=[
        f"{label} ({marks[kind][0]})" for kind in change[shown_sites]])
    if diff:
        kept = result.assets_after.drop(index=marked["new_row"].dropna().to_numpy(int))
    else:  # opened: last
        kept = result.assets_after.iloc[:len(result.assets_after) - (change == "opened").sum()]
    assets = stacked([kept, marked])
    style = taxonomy.categories[taxonomy.categories["label"] == label].iloc[0]
    extra = pd.DataFrame([{**style, "label": f"{label} ({word})", "colour": colour}
                          for word, colour in marks.values()],
                         index=[word for word, _ in marks.values()])
    shown = Taxonomy(pd.concat([taxonomy.categories, extra]), taxonomy.synonyms,
                     taxonomy.abbreviations)
    first = next(iter(layers))
    fmap = make_map(layers, gpd.GeoDataFrame(assets, geometry="geometry", crs=result.sites.crs),
                    taxonomy=shown, measure=(first, f"coverage_{group}_pct_change"),
                    scheme="natural_breaks",
                    coverage=(f"{label} ({marks['opened'][0]})", result.summary["threshold_m"])
                    if (change == "opened").any() else None, tiles=tiles, title=title,
                    attribution=attribution, labels=labels, category=label)
    if diff:
        moves = result.matches[(result.matches["status"] == "moved")
                               & (result.matches["new_category"] == label)]
        if len(moves):
            _add_layer(fmap, _move_layer(moves, f"{label}: moved (old place to new)"))
    return fmap


def _move_layer(moves: gpd.GeoDataFrame, name: str) -> folium.GeoJson:
    """Lines from old place to new, in the moved sites' colour (no text: only the layer's
    escaped name)."""
    import folium

    from .settings import WEB_CRS

    colour = _DIFF_MARKS["moved"][1]
    return folium.GeoJson(moves[["geometry"]].to_crs(WEB_CRS).__geo_interface__,
                          name=html.escape(name), interactive=False,
                          style_function=lambda f: {"color": colour, "weight": 3,
                                                    "dashArray": "6 4"})


def _add_layer(fmap: folium.Map, layer: folium.Layer) -> None:
    """Add ``layer`` to a finished map ahead of its layer control (which lists the layers
    added before it)."""
    import folium

    layer.add_to(fmap)
    children = list(fmap._children.items())
    control = next(i for i, (_, child) in enumerate(children)
                   if isinstance(child, folium.LayerControl))
    children.insert(control, children.pop())
    fmap._children = type(fmap._children)(children)


def site_change_outputs(output: str | Path, *, diff: bool = False) -> list[Path]:
    """The files :func:`write_site_change` writes for ``output`` (its suffix replaced; a
    snapshot ``diff`` also ``<output>_matches.csv``)."""
    output = Path(output)
    return [*(output.with_suffix(suffix)
              for suffix in (".xlsx", ".csv", ".gpkg", ".json", ".html")),
            *([output.with_name(f"{output.stem}_matches.csv")] if diff else [])]


def _flat(summary: Mapping, prefix: str = "") -> list[tuple[str, str]]:
    """The summary as ``item``/``value`` rows (nested keys dotted, lists joined)."""
    rows = []
    for key, value in summary.items():
        if isinstance(value, Mapping):
            rows += _flat(value, f"{prefix}{key}.")
        else:
            value = _json(value)
            rows.append((f"{prefix}{key}", ", ".join(map(str, value))
                         if isinstance(value, list | tuple) else value))
    return rows


def _json(value):
    """numpy scalars and arrays as JSON values."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    return value
