"""``report.html``: the planning pack as one self-contained, printable page.

Sections: headline figures, data sources and licences, the validation summary, ranked gap
tables per category and layer, charts (inline SVG: coverage by area, provision per 10,000
people by cluster, distance by IMD decile), the map (the offline map page, embedded), the
method, and one printable profile per planning area. Rendered by a Jinja template with
autoescaping: every name from a register or table is escaped.
"""

from __future__ import annotations

import math
from importlib import metadata
from typing import TYPE_CHECKING

import jinja2
import numpy as np
import pandas as pd

from .charts import area_map, bar_chart, column_chart
from .fields import human_names
from .gaps import SUPPRESSED

if TYPE_CHECKING:
    from .pack import PlanningPack

#: Gap table columns shown in the report's ranked tables, in order.
TABLE_COLUMNS = ("rank", "name", "population", "children", "assets", "distance_median_m",
                 "coverage_residents_pct", "coverage_children_pct", "decile1_2_pct",
                 "unmet_need", "gap_score", "priority")
_WHOLE = {"population", "children", "assets", "distance_median_m", "unmet_need", "rank",
          "imd_rank_mean"}
_ENV = jinja2.Environment(loader=jinja2.PackageLoader("assetmap", "templates"),
                          autoescape=True, trim_blocks=True, lstrip_blocks=True,
                          undefined=jinja2.StrictUndefined)


def figure(value, column: str = "") -> str:
    """A cell as people read it: whole numbers with separators (people, metres, ranks),
    one decimal otherwise; suppressed cells marked; missing ones a dash."""
    if isinstance(value, bool | np.bool_):
        return "Yes" if value else "No"
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.0f}" if column in _WHOLE else f"{value:,.1f}"


_ENV.filters["figure"] = figure


def render_report(pack: PlanningPack, map_page: str) -> str:
    """The report page for ``pack``, the map page embedded (``srcdoc``)."""
    return _ENV.get_template("report.html.j2").render(
        title=pack.project.title or "Planning pack", version=metadata.version("assetmap"),
        headline=_headline(pack), sources=_sources(pack), validation=_validation(pack),
        tables=_tables(pack), charts=_charts(pack), map_page=map_page,
        method=pack.gaps.method.to_numpy().tolist(), profiles=_profiles(pack),
        plans=_plans(pack), changes=_changes(pack),
        suppressed=SUPPRESSED, suppress_below=pack.project.suppress.below,
        warnings=pack.warnings)


def _headline(pack: PlanningPack) -> dict:
    demand, audit = pack.gaps.demand, pack.gaps.audit
    areas = demand.areas
    reach = pack.reach[pack.reach["decile"] == "all"]
    priority = pack.measures.groupby(["layer", "category"], sort=False)["priority"].sum()
    return dict(
        residents=figure(areas["population"].sum(), "population"),
        children=figure(areas["children"].sum(), "children") if "children" in areas else None,
        small_areas=len(areas), located=int((audit["status"] == "located").sum()),
        rejected=int((audit["status"] != "located").sum()),
        assets=pack.gaps.assets["category"].value_counts().sort_index().items(),
        reach=[(row.category, row.group, figure(row.within_pct), figure(
            row.distance_median_m, "distance_median_m"))
            for row in reach.itertuples()],
        priority=[(pack.layer_label(layer), category, int(count))
                  for (layer, category), count in priority.items()])


def _sources(pack: PlanningPack) -> dict:
    method = dict(zip(pack.gaps.method["item"], pack.gaps.method["value"], strict=True))
    audit = pack.gaps.audit
    registers = audit.groupby("source", sort=False)["status"].value_counts().unstack(
        fill_value=0)
    return dict(
        registers=[(name, int(row.sum()), int(row.get("located", 0)))
                   for name, row in registers.iterrows()],
        demand=method.get("demand tables", ""),
        layers=[(pack.layer_label(name), len(layer)) for name, layer in
                pack.gaps.layers.items()],
        attribution=pack.boundaries.attribution)


def _validation(pack: PlanningPack) -> list[tuple[str, str, int]]:
    rejected = pack.gaps.audit[pack.gaps.audit["status"] != "located"]
    counts = rejected.groupby(["source", "reason"], sort=True).size()
    return [(source, reason, int(n)) for (source, reason), n in counts.items()]


def _tables(pack: PlanningPack) -> list[dict]:
    """A ranked table per category and layer, published figures (suppressed marks kept)."""
    out = []
    for (category, layer), rows in pack.published.groupby(["category", "layer"], sort=False):
        rows = rows.sort_values("rank", key=lambda r: pd.to_numeric(r, errors="coerce"))
        columns = [c for c in TABLE_COLUMNS if c in rows]
        names = human_names(columns)
        out.append(dict(category=category, layer=pack.layer_label(layer),
                        group=rows["group"].iloc[0], threshold=rows["threshold_m"].iloc[0],
                        formula=rows["formula"].iloc[0],
                        header=[names[c] for c in columns],
                        rows=[[figure(v, c) for v, c in zip(row, columns, strict=True)]
                              for row in rows[columns].itertuples(index=False)]))
    return out


def _charts(pack: PlanningPack) -> list[tuple[str, str]]:
    """(caption, SVG) of each chart: coverage by the first layer, provision per 10,000 of
    the group by the cluster layer (else the last layer), distance by IMD decile."""
    by, measures, charts = pack.project.gap.by, pack.measures, []
    clusters = next((name for name in by if name in pack.project.cluster_layers()), by[-1])
    for category in pack.categories:
        rows = measures[measures["category"] == category]
        group = rows["group"].iloc[0]
        first = rows[rows["layer"] == by[0]].sort_values(f"coverage_{group}_pct")
        overall = pack.reach[(pack.reach["category"] == category)
                             & (pack.reach["decile"] == "all")]["within_pct"].iloc[0]
        charts.append((f"{category}: {group} within {first['threshold_m'].iloc[0]:,.0f} m, "
                       f"by {pack.layer_label(by[0]).lower()} (priority areas darker; dashed: "
                       "the whole study area)",
                       bar_chart(first["name"].tolist(),
                                 first[f"coverage_{group}_pct"].tolist(),
                                 title=f"{category}: {group} within reach (%)", unit="%",
                                 marked=first["priority"].fillna(False).tolist(),
                                 reference=overall, reference_label="study area",
                                 limit=100)))
        per = f"assets_per_10k_{group}"
        cluster_rows = rows[rows["layer"] == clusters].sort_values(per)
        charts.append((f"{category} per 10,000 {group}, by "
                       f"{pack.layer_label(clusters).lower()}",
                       bar_chart(cluster_rows["name"].tolist(), cluster_rows[per].tolist(),
                                 title=f"{category} per 10,000 {group}")))
        reach = pack.reach[(pack.reach["category"] == category)
                           & (pack.reach["decile"] != "all")]
        labels = [f"{d}" + (" (most deprived)" if d == 1 else " (least)" if d == 10 else "")
                  for d in reach["decile"]]
        charts.append((f"{category}: median distance from {group}'s homes to the nearest, "
                       "by IMD 2019 decile of their small area",
                       column_chart(labels, reach["distance_median_m"].tolist(),
                                    title=f"{category}: median distance (m) by IMD decile",
                                    unit=" m")))
    return charts


def _plans(pack: PlanningPack) -> list[dict]:
    """Each plan: what was asked, the sites in order of gain, the objective before and
    after, and per layer the areas gaining the most people within reach."""
    out = []
    for plan in pack.plans:
        summary, changes = plan.summary, plan.changes
        group = "children" if summary["demand"] != "residents" else "residents"
        gaining = f"{group}_gaining"
        areas = []
        for layer, rows in changes.groupby("layer", sort=False):
            top = rows.sort_values([gaining, "name"], ascending=[False, True]).head(5)
            areas += [(pack.layer_label(layer), r["name"], figure(r[gaining], "population"))
                      for _, r in top.iterrows() if r[gaining] > 0]
        out.append(dict(
            title=f"{summary['category']}: {summary['problem']}",
            asked=(f"{summary.get('k') or 'the fewest'} new sites among {summary['candidates']:,}"
                   f" candidates, {summary['existing_sites']:,} existing kept; "
                   f"{summary['demand']} within {summary['threshold_m']:,.0f} m "
                   f"({summary['weights']})"),
            objective=(figure(summary["objective_before"], "population"),
                       figure(summary["objective_after"], "population")),
            proof="proven optimal" if summary["optimal"] else
                  f"not proven: gap {summary['gap']:.2%}",
            sites=[(int(r["order"]), r["name"], r["id"], figure(r["gain"], "population"))
                   for _, r in plan.sites.iterrows()],
            areas=areas, people={k.replace("_", " "): f"{v:,}"
                                 for k, v in summary["people"].items()}))
    return out


def _changes(pack: PlanningPack) -> list[dict]:
    """Each comparison with a previous snapshot: rows by status, the changed sites, and per
    layer the areas whose gap score changed most."""
    out = []
    for change in pack.changes:
        summary, rows = change.summary, change.changes
        moved = rows[rows["gap_score_change"].abs() > 0.05]
        areas = [(pack.layer_label(layer), r["name"], figure(r["gap_score_before"]),
                  figure(r["gap_score_after"]), figure(r["gap_score_change"]))
                 for layer, part in moved.groupby("layer", sort=False)
                 for _, r in part.reindex(part["gap_score_change"].abs().sort_values(
                     ascending=False).index).head(5).iterrows()]
        out.append(dict(
            category=summary["category"], rows=summary["rows"],
            sites=[(r["change"], r["name"], "" if pd.isna(r.get("moved_m")) else
                    figure(r["moved_m"], "distance_median_m"), r.get("notes") or "")
                   for _, r in change.sites.iterrows()],
            areas=areas))
    return out


def _profiles(pack: PlanningPack) -> list[dict]:
    """One profile per area of every planning layer: people, deprivation, assets by
    category, and each category's coverage, distance, gap score and rank; a small map."""
    from .maps import layer_style

    measures, assets = pack.published, pack.gaps.assets
    colours = dict(zip(pack.project.taxonomy.categories["label"],
                       pack.project.taxonomy.categories["colour"], strict=True))
    counted, profiles = pack.counted_layers(), []
    xy = assets.geometry.get_coordinates().to_numpy()
    for name in pack.project.gap.by:
        layer, kind = counted[name], layer_style(name)[1]
        rows = measures[measures["layer"] == name]
        size = len(layer)
        for area in layer.sort_values("name").to_dict("records"):
            mine = rows[rows["code"] == area["code"]]
            first = mine.iloc[0] if len(mine) else None
            inside = (assets[f"{name}_code"] == area["code"]).to_numpy()
            points = [(xy[inside & (assets["category"] == c).to_numpy(), 0],
                       xy[inside & (assets["category"] == c).to_numpy(), 1], colours.get(
                           c, "#555555"), c) for c in pack.categories]
            profiles.append(dict(
                kind=kind, layer=pack.layer_label(name), code=area["code"], name=area["name"],
                people=[] if first is None else [
                    (human_names([c])[c], figure(first[c], c)) for c in
                    ("population", "children", "imd_rank_mean", "decile1_pct",
                     "decile1_2_pct") if c in first],
                assets=[(c, int(area.get(c) or 0)) for c in pack.categories],
                gaps=[dict(category=r.category, group=r.group,
                           coverage=figure(getattr(r, f"coverage_{r.group}_pct")),
                           distance=figure(r.distance_median_m, "distance_median_m"),
                           score=figure(r.gap_score), rank=figure(r.rank, "rank"), of=size,
                           priority=figure(r.priority)) for r in mine.itertuples()],
                map=area_map(area["geometry"], context=layer.geometry.to_numpy(),
                             points=points, title=str(area["name"]))))
    return profiles
