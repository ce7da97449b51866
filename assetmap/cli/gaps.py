"""``assetmap gaps``: provision against population, children and deprivation, per area."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich import box
from rich.table import Table

from .options import (
    check_outputs,
    console,
    demand_options,
    number_column,
    print_audit_summary,
    print_warnings,
    progress_status,
    register_options,
)

if TYPE_CHECKING:
    import pandas as pd


@click.command("gaps")
@register_options
@demand_options
@click.option("-t", "--threshold", type=click.FloatRange(min=0, min_open=True),
              metavar="METRES",
              help="Coverage distance for every category. Default: each category's "
                   "coverage_m in the taxonomy (family hub site 1600, community centre 800, "
                   "...).")
@click.option("--access-weight", type=click.FloatRange(min=0), default=1.0, show_default=True,
              metavar="W",
              help="Gap score weight of each person beyond the threshold.")
@click.option("--need-weight", type=click.FloatRange(min=0), default=1.0, show_default=True,
              metavar="W",
              help="Extra gap score weight of a person beyond the threshold in a deprived "
                   "small area.")
@click.option("--deprived-deciles", type=click.IntRange(1, 10), default=2, show_default=True,
              metavar="D",
              help="IMD deciles counted as deprived (2: the most deprived 20% nationally).")
@click.option("--priority-score", type=click.FloatRange(0, 100), default=25.0,
              show_default=True, metavar="SCORE",
              help="Areas with a gap score at least this are priority gaps.")
@click.option("--capacity", metavar="COLUMN",
              help="Register column holding each asset's capacity (places): adds a two-step "
                   "floating catchment accessibility index (places_per_1000).")
@click.option("--suppress-below", type=click.IntRange(min=2), metavar="N",
              help="Disclosure control in the written files: people counts from 0.1 to "
                   "N-1, and figures that would reveal them, are shown as [c], with enough "
                   "other cells that none is a difference of published ones (rows and "
                   "layers together; the rule is on the method sheet). Off by default.")
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True,
              help="Areas shown per layer and category in the terminal.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="gaps.xlsx",
              show_default=True,
              help="The XLSX workbook (a sheet per layer, and a method sheet); beside it go "
                   "<name>.csv (all layers) and <name>.gpkg (measures on the polygons).")
def gaps_command(registers, register_kwargs, demand_kwargs, threshold, access_weight,
                 need_weight, deprived_deciles, priority_score, capacity, suppress_below, top,
                 output) -> None:
    """Find where people, especially children in deprived areas, live far from help.

    For each area of the --by layers and each category of asset: assets per 10,000
    residents (and children, for child-facing categories); distance from where people
    live to the nearest asset (population-weighted median and 90th percentile); coverage
    (% of residents and children within the threshold); need (IMD); and a gap score,
    ranked, with priority gaps flagged. The method is written into every output.

    --category names the category to analyse (registers with no type column are taken to
    be of it); without it every category found is analysed.

    \b
    Gap score (0-100; weights as given):
      100 x sum(group beyond threshold x (access + need x deprived))
          / ((access + need) x sum(group))
    where the group is children for child-facing categories, else residents.

    \b
    Examples (Bradford open-data bundle):
      assetmap gaps hubs.xlsx --category "family hub site" --by ward,constituency \\
          -p population_lsoa.csv -d imd2019_lsoa.csv -o hub_gaps.xlsx
      assetmap gaps schools.csv -p population_lsoa.csv -d imd2019_lsoa.csv \\
          --points oa --threshold 800 --suppress-below 10
      assetmap gaps gp_practices.csv --by ward,pcn=pcn.gpkg -p population_lsoa.csv
    """
    from ..analyses import gap_analysis
    from ..gaps import GapFormula, write_gaps
    from ..outputs import gap_outputs, output_set

    written = gap_outputs(output)
    check_outputs(written)
    formula = GapFormula(access=access_weight, need=need_weight, deciles=deprived_deciles,
                         priority=priority_score)
    with progress_status() as progress:
        result = gap_analysis(
            registers, category=register_kwargs.pop("category"), threshold=threshold,
            formula=formula, capacity=capacity, progress=progress, **demand_kwargs,
            **register_kwargs)
        progress(f"Writing {output}")
        shown = result.published(suppress_below)
        with output_set(written) as staged:
            write_gaps(result, staged[0], suppress_below=suppress_below, published=shown)
    print_audit_summary(result.audit)
    print_warnings(result.warnings)
    method = result.method
    for item, value in method[method["item"].str.startswith("aggregation: ")].to_numpy():
        console.print(f"{item.removeprefix('aggregation: ')}: {value}")
    for (name, category), rows in shown.groupby(["layer", "category"], sort=False):
        _print_top(rows, name, category, top)
        _print_lowest(rows)
        console.print(rows["formula"].iloc[0])
    console.print(f"Wrote {', '.join(str(path) for path in written)}")


def _print_top(rows: pd.DataFrame, layer: str, category: str, top: int) -> None:
    """The top areas by gap score, as a table."""
    if not top:
        return
    group = rows["group"].iloc[0]
    table = Table(title=f"{layer}: largest gaps for {category} ({group}, within "
                        f"{rows['threshold_m'].iloc[0]:,.0f} m)", title_justify="left",
                  box=box.SIMPLE_HEAD, padding=0, pad_edge=False)
    count = "children" if group == "children" else "population"
    columns = {"rank": "#", "name": "area", count: group, "assets": "assets",
               f"coverage_{group}_pct": "covered\n%", "distance_median_m": "median\nm",
               "decile1_2_pct": "IMD 1-2\n%", "gap_score": "score", "priority": "priority"}
    columns = {c: h for c, h in columns.items() if c in rows}
    for column, header in columns.items():
        if column == "name":
            table.add_column(header, overflow="fold")
        else:
            number_column(table, header)
    for row in rows.sort_values("rank").head(top).itertuples(index=False):
        values = row._asdict()
        table.add_row(*(_cell(values[c], ".1f" if c in _ONE_DECIMAL else ",.0f")
                        for c in columns))
    console.print(table)


_ONE_DECIMAL = {"coverage_children_pct", "coverage_residents_pct", "decile1_2_pct", "gap_score"}


def _cell(value, spec: str) -> str:
    """One terminal cell: numbers formatted, [c] and names as they are."""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int | float):
        return "" if value != value else format(value, spec)  # NaN: blank
    return str(value)


def _print_lowest(rows: pd.DataFrame, most: int = 5) -> None:
    """The areas with the lowest coverage of the category's group, in a sentence."""
    group = rows["group"].iloc[0]
    import pandas as pd

    coverage = pd.to_numeric(rows[f"coverage_{group}_pct"], errors="coerce")  # not [c]
    lowest = rows.assign(coverage=coverage).dropna(subset=["coverage"]).sort_values(
        ["coverage", "code"]).head(most)
    if len(lowest):
        console.print(f"Lowest coverage of {group} within {rows['threshold_m'].iloc[0]:,.0f} "
                      "m: " + ", ".join(f"{r.name} ({r.coverage:.1f}%)"
                                        for r in lowest.itertuples()))
