"""``assetmap diff``: what changed between two snapshots of a register, row by row and in the
gaps of a category per area."""

from __future__ import annotations

import click
from rich import box
from rich.table import Table

from .options import (
    check_outputs,
    console,
    demand_options,
    number_column,
    print_warnings,
    progress_status,
    register_options,
)


@click.command("diff")
@register_options
@demand_options
@click.option("-t", "--threshold", type=float, metavar="METRES",
              help="Within reach: default the category's coverage_m in the taxonomy.")
@click.option("--within", type=click.FloatRange(min=0, min_open=True), default=100.0,
              show_default=True, metavar="METRES",
              help="Rows with no common ID, name and postcode match by a similar name only "
                   "this close.")
@click.option("--similarity", type=click.FloatRange(0, 100), default=90.0, show_default=True,
              metavar="SCORE", help="How alike such names must be (0-100, rapidfuzz ratio).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="changes.xlsx",
              show_default=True,
              help="The XLSX (changed sites, every row matched, a sheet of changes per layer, "
                   "summary); beside it <name>.csv (changes per area), <name>_matches.csv, "
                   ".gpkg (sites, moves, layers), .json (the summary) and .html (the map).")
@click.option("--tiles", default="openstreetmap", show_default=True,
              help="Map background: openstreetmap, cartodb, none, or a tile URL.")
def diff_command(registers, register_kwargs, demand_kwargs, threshold, within, similarity,
                 output, tiles) -> None:
    """What changed between two snapshots of a register (OLD NEW): each row unchanged,
    moved, renamed, recategorised, opened, closed or ambiguous, and the coverage, distance
    and gap score of a category per area before and after.

    Rows match by ID where both have one, else by name and postcode, else by a similar name
    nearby; a row with several candidates is reported as ambiguous, never guessed.

    \b
    Example (Bradford bundle): GP practices last year and now, per ward and PCN
      D=../shared/data/bradford
      assetmap diff gp_2024.csv gp_2025.csv --category "GP practice" \\
          -p $D/population_lsoa.csv -d $D/imd2019_lsoa.csv --by ward,pcn=pcn.gpkg \\
          -o changes.xlsx
    """
    from ..errors import AssetmapError
    from ..outputs import output_set
    from ..plans import diff_snapshots
    from ..whatif import site_change_outputs, write_site_change

    if len(registers) != 2:
        raise AssetmapError(f"give two registers, the old snapshot and the new one, not "
                            f"{len(registers)}")
    written = site_change_outputs(output, diff=True)
    check_outputs(written)
    category = register_kwargs.pop("category")
    if not category:
        raise AssetmapError("say which category's gaps to compare: --category")
    taxonomy = register_kwargs["taxonomy"]
    with progress_status() as progress:
        result = diff_snapshots([registers[0]], [registers[1]], category=category,
                                threshold=threshold, within=within, similarity=similarity,
                                progress=progress, **demand_kwargs, **register_kwargs)
        progress(f"Writing {output}")
        with output_set(written) as staged:
            write_site_change(result, staged[0], taxonomy=taxonomy, map_options=dict(
                tiles=tiles, title=f"{result.summary['category']}: what changed"))
    print_warnings(result.warnings)
    table = Table(title="Rows", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("status")
    for column in ("all", result.summary["category"]):
        number_column(table, column)
    for status, count in result.summary["rows"].items():
        table.add_row(status, f"{count:,}", f"{result.summary['sites'].get(status, 0):,}")
    console.print(table)
    people = result.summary["people"]
    console.print("Within reach: " + ", ".join(f"{k.replace('_', ' ')} {v:,}"
                                               for k, v in people.items()), markup=False)
    console.print(f"Wrote {', '.join(str(path) for path in written)}", markup=False)


next(param for param in diff_command.params if param.name == "registers").metavar = "OLD NEW"
