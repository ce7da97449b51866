"""``assetmap report`` and ``assetmap demo``: the planning pack from a project file."""

from __future__ import annotations

from pathlib import Path

import click

from .options import console, print_audit_summary, print_warnings, progress_status

_PDF = click.option("--pdf", is_flag=True,
                    help="Also print report.pdf (A4, a page per area profile): needs Chromium.")


@click.command("report")
@click.option("-c", "--config", "config", default=".", show_default=True, metavar="FILE",
              help="Project file (assetmap.toml, or its folder; 'assetmap init' writes one).")
@click.option("-o", "--output", type=click.Path(file_okay=False),
              help="Folder for the package  [default: the project's [outputs] folder]")
@_PDF
def report_command(config: str, output: str | None, pdf: bool) -> None:
    """Write the planning pack for a project: every step run once, every input read once.

    Validates and locates the registers, draws the clusters (and Area Advisory Networks),
    finds the gaps for each [[analyse]] category on each [gap] by layer, and writes into
    the output folder, as one set (a failure leaves the previous files whole):

    \b
      report.html    headline figures, sources, validation, ranked gap tables, charts,
                     the map, the method, and a printable profile per planning area
      report.pdf     with --pdf
      gaps.xlsx      for people: summary, a sheet per layer, field guide, method, audit
      assetmap.gpkg  assets and every layer with its measures, styled for QGIS
      map.html       the interactive map (offline)
      audit.csv      every register row: located, or why not
      run.json       inputs with sha256, settings, versions, timings, warnings

    The project file is checked before any work: a problem is one line naming the key.

    \b
    Examples:
      assetmap init my_study && assetmap report -c my_study -o my_study/pack
      assetmap report --pdf          # assetmap.toml here, into its [outputs] folder
    """
    from ..project import load_project

    project = load_project(config)
    write(project, Path(output) if output else project.outputs.folder, pdf=pdf)


@click.command("demo")
@click.option("-o", "--output", type=click.Path(file_okay=False), default="assetmap-demo",
              show_default=True, help="Folder for the package.")
@_PDF
def demo_command(output: str, pdf: bool) -> None:
    """The planning pack on the Bradford open-data bundle (found through ASSETMAP_DATA_DIR).

    GP practices and schools are the registers; Primary Care Network clusters are drawn
    from the practices' pcn_code, and grouped into four ILLUSTRATIVE Area Advisory Networks
    (boundaries/bradford_aan_illustrative.csv, not an official grouping); GP practices are
    analysed for residents and schools for children, by AAN, PCN, ward and constituency.
    The project file used is written into the folder too: edit it and run
    'assetmap report -c FOLDER/assetmap.toml -o NEW_FOLDER'.
    """
    from ..project import PROJECT_FILE, parse_project
    from ..starter import demo_project

    text = demo_project()
    project = parse_project(text, Path("<demo>"))  # absolute paths: none relative to it
    write(project, Path(output), pdf=pdf, extra={PROJECT_FILE: text})


def write(project, folder: Path, *, pdf: bool, extra: dict[str, str] | None = None) -> None:
    """Run the pack with a spinner, then say what was found and written."""
    from ..report import run_report

    with progress_status() as progress:
        written, pack = run_report(project, folder, pdf=pdf, extra=extra, progress=progress)
    print_audit_summary(pack.gaps.audit)
    print_warnings(pack.warnings)
    total = sum(pack.timings.values())
    console.print(f"Wrote {folder}{'/' if str(folder)[-1:] != '/' else ''}: "
                  f"{', '.join(path.name for path in written)} ({total:.1f} s of analysis)",
                  markup=False)
