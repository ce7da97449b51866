"""What changes when sites open or close: gap tables before and after, compared per area,
and the people who lose (or gain) their last site within reach.

Used by ``assetmap plan``: a what-if closes or opens named sites; a location-allocation
plan opens the sites it chooses. :class:`SiteChange` holds both runs and
:func:`write_site_change` writes them (XLSX, CSV, GeoPackage, JSON summary).
"""

from __future__ import annotations

import difflib
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
from .locate import name_key
from .outputs import write_geo_layers, write_table, write_xlsx
from .taxonomy import Taxonomy

if TYPE_CHECKING:
    import folium

#: Gap table columns compared before and after a change.
COMPARED = ("assets", "coverage_residents_pct", "coverage_children_pct", "distance_median_m",
            "gap_score", "rank")
_KEYS = ["layer", "code", "name", "category"]


@dataclass
class SiteChange:
    """Sites opened or closed, and what it does: ``sites`` (the changed sites: ``change`` is
    ``opened`` or ``closed``; a plan's in order of marginal gain, with ``gain``), ``changes``
    (per layer, area and category: each compared measure before, after and its change,
    and residents and children losing or gaining their last site within reach), the gap
    tables ``before`` and ``after``, the ``layers``, the sites ``assets_after``, and a
    ``summary`` (JSON-ready: objective, optimality, time, reductions, totals)."""

    sites: gpd.GeoDataFrame
    changes: pd.DataFrame
    before: pd.DataFrame
    after: pd.DataFrame
    layers: dict[str, gpd.GeoDataFrame]
    assets_after: gpd.GeoDataFrame
    summary: dict
    warnings: list[str] = field(default_factory=list)


def find_sites(sites: pd.DataFrame, names: Sequence[str], *, what: str = "site"
               ) -> np.ndarray:
    """Positions of the sites named by ID or by name (case, spacing and punctuation
    ignored). An unknown name, or one naming several sites, is a one-line error with the
    closest names."""
    ids = sites["id"].fillna("").astype(str).str.strip().str.casefold().to_numpy()
    keys = name_key(sites["name"].fillna("").astype(str)).to_numpy()
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
    ``.html`` (:func:`change_map`, with ``map_options``)."""
    from .maps import write_map

    to_xlsx, to_csv, to_gpkg, to_json, to_html = site_change_outputs(output)
    sheets = {"sites": result.sites.drop(columns="geometry"),
              **{name: rows.drop(columns="layer")
                 for name, rows in result.changes.groupby("layer", sort=False)},
              "summary": pd.DataFrame(_flat(result.summary), columns=["item", "value"])}
    geo = {"sites": result.sites}
    for name, layer in result.layers.items():
        rows = result.changes[result.changes["layer"] == name].drop(columns=["layer", "name"])
        geo[name] = layer[["code", "name", "geometry"]].merge(rows, on="code", how="left")
    to_json.write_text(json.dumps(result.summary, indent=2, ensure_ascii=False,
                                  default=_json) + "\n", encoding="utf-8")
    return [write_xlsx(sheets, to_xlsx), write_table(result.changes, to_csv),
            write_geo_layers(geo, to_gpkg), to_json,
            write_map(change_map(result, taxonomy, **(map_options or {})), to_html)]


def change_map(result: SiteChange, taxonomy: Taxonomy, *, title: str = "",
               attribution: Sequence[str] = (), tiles: str = "openstreetmap",
               labels: Mapping[str, str] | None = None) -> folium.Map:
    """The change on a map: every layer with its changes, the first shaded by the change in
    coverage; the sites, with the ones opened (``<category> (proposed)``, black) and closed
    (``<category> (closing)``, grey) in layers of their own; the area newly within reach."""
    from .maps import make_map

    label, group = result.summary["category"], result.before["group"].iloc[0]
    layers = {name: layer.merge(result.changes[result.changes["layer"] == name].drop(
        columns=["layer", "name", "category"]), on="code", how="left")
        for name, layer in result.layers.items()}
    opened = (result.sites["change"] == "opened").to_numpy()
    marked = result.sites.assign(category=np.where(opened, f"{label} (proposed)",
                                                   f"{label} (closing)"))
    kept = result.assets_after.iloc[:len(result.assets_after) - opened.sum()]  # opened: last
    assets = pd.concat([kept, marked], ignore_index=True)
    style = taxonomy.categories[taxonomy.categories["label"] == label].iloc[0]
    extra = pd.DataFrame([{**style, "label": f"{label} (proposed)", "colour": "#000000"},
                          {**style, "label": f"{label} (closing)", "colour": "#9e9e9e"}],
                         index=["proposed", "closing"])
    shown = Taxonomy(pd.concat([taxonomy.categories, extra]), taxonomy.synonyms,
                     taxonomy.abbreviations)
    first = next(iter(layers))
    return make_map(layers, gpd.GeoDataFrame(assets, geometry="geometry", crs=result.sites.crs),
                    taxonomy=shown, measure=(first, f"coverage_{group}_pct_change"),
                    scheme="natural_breaks",
                    coverage=(f"{label} (proposed)", result.summary["threshold_m"])
                    if opened.any() else None, tiles=tiles, title=title,
                    attribution=attribution, labels=labels, category=label)


def site_change_outputs(output: str | Path) -> list[Path]:
    """The files :func:`write_site_change` writes for ``output`` (its suffix replaced)."""
    output = Path(output)
    return [output.with_suffix(suffix)
            for suffix in (".xlsx", ".csv", ".gpkg", ".json", ".html")]


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
