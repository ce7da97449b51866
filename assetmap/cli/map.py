"""``assetmap map``: an interactive HTML map of registers, boundary layers and a measure."""

from __future__ import annotations

from pathlib import Path

import click

from ..settings import SCHEMES
from .options import (
    check_outputs,
    console,
    layer_names,
    print_warnings,
    progress_status,
    register_options,
)


def _pair(kind: str, convert):
    def parse(ctx, param, values: tuple[str, ...]):
        if len(values) > 1:
            raise click.BadParameter(f"given {len(values)} times; a map shows one: give it once")
        if not values:
            return None
        first, sep, second = values[0].rpartition(":")
        if not sep or not first or not second:
            raise click.BadParameter(f"expected {kind}, got {values[0]!r}")
        try:
            return first.strip(), convert(second.strip())
        except ValueError:
            raise click.BadParameter(f"expected {kind}, got {values[0]!r}") from None
    return parse


@click.command("map")
@register_options
@click.option("-l", "--layers", callback=layer_names, metavar="NAME,...",
              help="Boundary layers to draw (the first is shown on opening): names from the "
                   "boundary set or files. Default: every layer of the set.")
@click.option("-m", "--measure", callback=_pair("LAYER:COLUMN", str), metavar="LAYER:COLUMN",
              multiple=True,
              help="Shade a layer by a column: a category (assets of it per area), 'total', "
                   "or a measure of --gaps, e.g. ward:School or ward:gap_score.")
@click.option("--gaps", type=click.Path(dir_okay=False),
              help="A gap table written by 'assetmap gaps' (CSV or XLSX, one category): its "
                   "measures (gap_score, coverage_children_pct, ...) can be shaded.")
@click.option("--scheme", type=click.Choice(list(SCHEMES)), default="quantiles",
              show_default=True,
              help="Class breaks of the shading of counts and rates (mapclassify); the gap "
                   "score and percentages have fixed classes (0-20, 20-40, ...).")
@click.option("-k", "--classes", type=click.IntRange(2, 9), default=5, show_default=True,
              help="Number of classes.")
@click.option("--coverage", callback=_pair("CATEGORY:METRES", float),
              metavar="CATEGORY:METRES", multiple=True,
              help="Shade the area within a distance of a category's assets, e.g. "
                   "\"Family hub site:1600\".")
@click.option("--tiles", default="openstreetmap", show_default=True,
              help="Basemap: openstreetmap, cartodb, none (the page then makes no request "
                   "at all), or a tile URL template (https://tiles.example/{z}/{x}/{y}.png).")
@click.option("--offline/--cdn", default=True,
              help="--offline (the default): every script and stylesheet inlined, the map "
                   "works with no network (but for the basemap). --cdn: a smaller file "
                   "that loads them from CDNs, blank without network.")
@click.option("--title", default="", help="Title shown on the map.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="map.html",
              show_default=True, help="The HTML file to write.")
def map_command(registers, register_kwargs, layers, measure, gaps, scheme, classes, coverage,
                tiles, offline, title, output) -> None:
    """Draw assets and boundary layers on an interactive map (one HTML file).

    Assets appear as one layer per category in the taxonomy's colours and icons,
    clustered, with popups showing the register's own columns; boundary layers switch on
    and off, each in its own colour, with area names when zoomed in; a measure is shaded
    with a legend in words (hidden with its layer; suppressed areas hatched). Search assets,
    areas (name or code) and postcodes, measure distances, go full screen. Open the file in
    any browser: it is self-contained and needs no network but for the basemap tiles
    (--tiles none: none at all).

    \b
    Examples:
      assetmap map registers/*.csv --layers ward,constituency,lsoa -o map.html
      assetmap map schools.csv --measure ward:School --scheme natural_breaks
      assetmap map schools.csv --gaps school_gaps.csv --measure ward:gap_score
      assetmap map hubs.xlsx --coverage "Family hub site:1600" --tiles none -o hubs.html
      assetmap map schools.csv --cdn -o small.html   # needs network to show
    """
    from ..gaps import read_gap_table
    from ..maps import write_map
    from ..outputs import output_set
    from ..pipeline import map_registers

    check_outputs([Path(output)])
    if not offline:
        print_warnings(["--cdn: the map loads scripts from CDNs: blank without network"])
    with progress_status() as progress:
        map_options = dict(measure=measure, scheme=scheme, classes=classes,
                           coverage=coverage, title=title, tiles=tiles)
        fmap = map_registers(registers, layers=layers, map_options=map_options,
                             measures=read_gap_table(gaps) if gaps else None,
                             progress=progress, **register_kwargs)
        progress(f"Writing {output}")
        with output_set([Path(output)]) as (staged,):
            write_map(fmap, staged, offline=offline)
    path = Path(output)
    console.print(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
