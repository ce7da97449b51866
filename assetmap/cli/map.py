"""``assetmap map``: an interactive HTML map of registers, boundary layers and a measure."""

from __future__ import annotations

import click

from ..gaps import read_gap_table
from ..maps import SCHEMES, write_map
from ..pipeline import map_registers
from .options import console, layer_names, progress_status, register_options


def _pair(kind: str, convert):
    def parse(ctx, param, value: str | None):
        if value is None:
            return None
        first, sep, second = value.rpartition(":")
        if not sep or not first or not second:
            raise click.BadParameter(f"expected {kind}, got {value!r}")
        try:
            return first.strip(), convert(second.strip())
        except ValueError:
            raise click.BadParameter(f"expected {kind}, got {value!r}") from None
    return parse


@click.command("map")
@register_options
@click.option("-l", "--layers", callback=layer_names, metavar="NAME,...",
              help="Boundary layers to draw (the first is shown on opening): names from the "
                   "boundary set or files. Default: every layer of the set.")
@click.option("-m", "--measure", callback=_pair("LAYER:COLUMN", str), metavar="LAYER:COLUMN",
              help="Shade a layer by a column: a category (assets of it per area), 'total', "
                   "or a measure of --gaps, e.g. ward:School or ward:gap_score.")
@click.option("--gaps", type=click.Path(dir_okay=False),
              help="A gap table written by 'assetmap gaps' (its CSV, one category): its "
                   "measures (gap_score, coverage_children_pct, ...) can be shaded.")
@click.option("--scheme", type=click.Choice(list(SCHEMES)), default="quantiles",
              show_default=True, help="Class breaks of the shading (mapclassify).")
@click.option("-k", "--classes", type=click.IntRange(2, 9), default=5, show_default=True,
              help="Number of classes.")
@click.option("--coverage", callback=_pair("CATEGORY:METRES", float),
              metavar="CATEGORY:METRES",
              help="Shade the area within a distance of a category's assets, e.g. "
                   "\"Family hub site:1600\".")
@click.option("--tiles", help="Basemap: openstreetmap, cartodb, none, or a tile URL template "
                              "(https://tiles.example/{z}/{x}/{y}.png). Default: openstreetmap; "
                              "none with --offline.")
@click.option("--offline", is_flag=True,
              help="Inline every script and stylesheet: the file needs no network (for "
                   "locked-down or offline machines).")
@click.option("--title", default="", help="Title shown on the map.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="map.html",
              show_default=True, help="The HTML file to write.")
def map_command(registers, register_kwargs, layers, measure, gaps, scheme, classes, coverage,
                tiles, offline, title, output) -> None:
    """Draw assets and boundary layers on an interactive map (one HTML file).

    Assets appear as one layer per category in the taxonomy's colours and icons,
    clustered, with popups; boundary layers switch on and off with names and codes in
    tooltips; a measure is shaded with a legend. Search by asset name, measure distances,
    go full screen. Open the file in any browser; with --offline it needs no network.

    \b
    Examples:
      assetmap map registers/*.csv --layers ward,constituency,lsoa -o map.html
      assetmap map schools.csv --measure ward:School --scheme natural_breaks
      assetmap map schools.csv --gaps school_gaps.csv --measure ward:gap_score
      assetmap map hubs.xlsx --coverage "Family hub site:1600" --offline -o hubs.html
    """
    with progress_status() as progress:
        map_options = dict(measure=measure, scheme=scheme, classes=classes,
                           coverage=coverage, title=title,
                           tiles=tiles or ("none" if offline else "openstreetmap"))
        fmap = map_registers(registers, layers=layers, map_options=map_options,
                             measures=read_gap_table(gaps) if gaps else None,
                             progress=progress, **register_kwargs)
        progress(f"Writing {output}")
        path = write_map(fmap, output, offline=offline)
    console.print(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
