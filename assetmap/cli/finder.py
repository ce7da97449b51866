"""``assetmap finder``: one offline page where residents find the assets nearest a postcode."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    check_outputs,
    console,
    print_audit_summary,
    progress_status,
    register_options,
)


@click.command("finder")
@register_options
@click.option("--title", default="", help="Title of the page. Default: the boundary set's "
                                          "name, then \"find places near you\".")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="finder.html",
              show_default=True, help="The HTML page to write.")
def finder_command(registers, register_kwargs, title, output) -> None:
    """Write a page where anyone finds the assets nearest a postcode (one HTML file).

    Type a postcode of the study area, choose categories, and see the nearest assets as a
    numbered list and on a small map, with their straight-line distance, the walk in
    minutes (4.8 km/h), and the address, opening times and contact from the register. A
    postcode not found gets suggestions one character away (BD7 1DP for BD7 1DO). The
    page needs no network at all, works on a phone and with the keyboard alone, and
    prints; the study area's postcodes are inside it (Bradford's: about 0.2 MB).

    Rows that cannot be located are left out, and counted with their reasons here.

    \b
    Examples:
      assetmap finder gp_practices.csv schools.csv groups.xlsx -o finder.html
      assetmap finder registers/*.csv --title "Help near you in Manningham"
      assetmap finder hubs.csv --boundaries my_area.toml --postcodes codepoint/
    """
    from ..finder import write_finder
    from ..nearby import finder_for_registers
    from ..outputs import output_set

    check_outputs([Path(output)])
    with progress_status() as progress:
        page, audit = finder_for_registers(registers, title=title, progress=progress,
                                           **register_kwargs)
        with output_set([Path(output)]) as (staged,):
            write_finder(page, staged)
    print_audit_summary(audit)
    path = Path(output)
    console.print(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
