"""``assetmap near``: the assets nearest to a resident's postcode, or to each of a list."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich import box
from rich.table import Table
from rich.text import Text

from .options import (
    check_outputs,
    console,
    number_column,
    progress_status,
    register_options,
    visible,
)

if TYPE_CHECKING:
    import pandas as pd

#: Places shown in the terminal; the rest go to a file (-o).
_SHOWN_PLACES = 10
#: Places not located that are listed, one a line, before a count of the rest.
_SHOWN_PROBLEMS = 10


@click.command("near")
@click.argument("place")
@register_options
@click.option("-n", "--count", type=click.IntRange(min=1), default=5, show_default=True,
              help="Nearest assets per place, of each category.")
@click.option("--within", type=click.FloatRange(min=0), metavar="METRES",
              help="Only assets this close (straight line). Default: no limit.")
@click.option("--walk-speed", type=click.FloatRange(min=0, min_open=True), default=4.8,
              show_default=True, metavar="KMH",
              help="Walking speed of the walking times, in km/h (4.8 km/h is 3 mph).")
@click.option("--place-column", metavar="COLUMN",
              help="Column of a referral list holding the places. Default: its postcode "
                   "column.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write every place's nearest assets to a .csv (one row per place and "
                   "asset; places not found included, with the reason) or .json file. "
                   "Default: a table in the terminal.")
def near_command(place, registers, register_kwargs, count, within, walk_speed, place_column,
                 output) -> None:
    """Find the assets nearest to a place: a postcode, easting,northing or latitude,longitude.

    PLACE is one place, or a referral list: a CSV or XLSX file with a postcode column (or
    --place-column), whose every row is looked up in one go. REGISTERS are read and
    located as by 'assetmap validate'. For each place, the --count nearest assets of each
    category (only --category's when given), with the straight-line distance and the
    walking time at --walk-speed. A postcode that does not exist, or coordinates outside
    Great Britain, are reported with the reason (and a near miss suggested: BD7 IDP, did
    you mean BD7 1DP?); the other places are still answered.

    \b
    Examples (Bradford open-data bundle):
      assetmap near "BD7 1DP" gp_practices.csv schools.csv
      assetmap near bd71dp gp_practices.csv -n 3 --within 1500
      assetmap near 414000,433000 schools.csv --category school
      assetmap near 53.79,-1.75 gp_practices.csv -o nearest.json
      assetmap near referrals.xlsx hubs.xlsx --category "family hub site" -n 1 \\
          -o referrals_nearest.csv
    """
    from ..near import near_output, write_near
    from ..nearby import near_places
    from ..outputs import clashes, output_set

    written = [near_output(output)] if output else []
    check_outputs(written)
    clashes(written, [Path(place)])  # a referral list is an input too
    with progress_status() as progress:
        results, places = near_places(
            place, registers, category=register_kwargs.pop("category"), n=count,
            within=within, speed_kmh=walk_speed, place_column=place_column,
            progress=progress, **register_kwargs)
        if written:
            progress(f"Writing {output}")
            with output_set(written) as (staged,):
                write_near(results, places, staged)
    _print_problems(places)
    limit = "" if within is None else f", within {within:,.0f} m"
    console.print(f"Straight-line distances; walking times at {walk_speed:g} km/h{limit}.")
    if written:
        console.print(f"{(places['status'] == 'located').sum():,} of {len(places):,} places "
                      f"located, {len(results):,} assets found. Wrote {output}")
        return
    shown = places["row"].iloc[:_SHOWN_PLACES]
    if len(results):
        _print_results(results[results["row"].isin(shown)], several=len(places) > 1)
    if len(places) > _SHOWN_PLACES:
        console.print(f"{len(places) - _SHOWN_PLACES:,} more places: write them all with "
                      "-o nearest.csv")


def _print_problems(places: pd.DataFrame) -> None:
    """Places not located, one a line with the reason, and those with no asset in reach."""
    rejected = places[places["status"] != "located"]
    for row in rejected.head(_SHOWN_PROBLEMS).itertuples():
        console.print(f"row {row.row}: {row.reason}" if len(places) > 1 else row.reason,
                      style="yellow", soft_wrap=True)
    if len(rejected) > _SHOWN_PROBLEMS:
        console.print(f"... and {len(rejected) - _SHOWN_PROBLEMS:,} more places not located",
                      style="yellow")
    none = ((places["status"] == "located") & (places["found"] == 0)).sum()
    if none:
        console.print(f"{none:,} places have no asset within reach", style="yellow")


def _print_results(results: pd.DataFrame, *, several: bool) -> None:
    """The nearest assets, as a table (the place first when there are several)."""
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    columns = {"row": "row", "place": "place"} if several else {}
    columns |= {"category": "category", "rank": "#", "name": "name", "postcode": "postcode",
                "distance_m": "metres", "walk_minutes": "walk\nminutes"}
    formats = {"row": "d", "rank": "d", "distance_m": ",.0f", "walk_minutes": ".1f"}
    for column, header in columns.items():
        if column in formats:
            number_column(table, header)
        else:
            table.add_column(header, overflow="fold")
    for row in results[list(columns)].itertuples(index=False):
        table.add_row(*(format(value, formats[column]) if column in formats
                        else Text(_text(value))
                        for column, value in zip(columns, row, strict=True)))
    console.print(table)


def _text(value) -> str:
    """A cell as plain printable text (blank for a missing value)."""
    return "" if value is None or value != value else visible(str(value))
