"""``assetmap init``: write a starter project file for the registers and tables in a folder."""

from __future__ import annotations

from pathlib import Path

import click

from .options import console


@click.command("init")
@click.argument("folder", default=".", type=click.Path(file_okay=False))
def init_command(folder: str) -> None:
    """Write a commented starter assetmap.toml into FOLDER (default: here).

    It is filled in from the files there: each register (CSV, XLSX, GeoJSON, GeoPackage)
    with its detected column roles as comments and its category, the population and
    deprivation tables, a cluster layer where a register names clusters (pcn_code), and
    the categories to analyse. Check the guesses, then give the file to the commands with
    --config. An existing assetmap.toml is never replaced.

    \b
    Example (a folder holding gp_practices.csv, schools.csv, population_lsoa.csv and
    imd2019_lsoa.csv):
      assetmap init my_study
    """
    from ..errors import AssetmapError
    from ..outputs import atomic_path
    from ..project import PROJECT_FILE, parse_project
    from ..starter import starter_project

    target = Path(folder) / PROJECT_FILE
    if not Path(folder).is_dir():
        raise AssetmapError("no such folder", file=folder)
    if target.exists():
        raise AssetmapError("exists already: edit it, or move it away to start again",
                            file=target)
    text = starter_project(folder)
    project = parse_project(text, target)  # what is written loads
    with atomic_path(target) as temp:
        temp.write_text(text, encoding="utf-8")
    console.print(f"Wrote {target}: {len(project.registers)} registers, "
                  f"{len(project.analyse)} categories to analyse"
                  + (", population tables" if project.demand else ", no population table")
                  + (f", clusters {', '.join(project.clusters)}" if project.clusters else ""),
                  markup=False)
