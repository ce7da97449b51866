"""Options shared by the commands, and the terminal output they have in common.

Heavy libraries (pandas, geopandas, the steps) are imported where a command runs, so that
``--help`` answers at once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..project import READING_OPTIONS
from ..settings import EDGE_TOLERANCE_M

if TYPE_CHECKING:
    import pandas as pd

#: Where ``--config`` leaves the project for the register options (``ctx.meta`` key).
_PROJECT = "assetmap.project"
#: Parameters naming files a command reads, and those naming layers (files or set names).
_INPUT_PARAMS = ("registers", "population", "deprivation", "members", "areas", "gaps",
                 "postcodes", "taxonomies")
_LAYER_PARAMS = ("layers", "by", "clusters", "polygons", "points")
_SHAPEFILE_PARTS = (".dbf", ".shx", ".prj", ".cpg")

#: Control characters (but tab and newline) shown as escapes: a name holding ``ESC [8m``
#: must not hide what is printed after it.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(32), *range(127, 160)) if c not in (9, 10)}


def visible(text: str) -> str:
    """``text`` with its control characters shown as escapes, safe to print to a terminal."""
    return text.translate(_CONTROLS)


class _PlainConsole(Console):
    """A console printing text as typed: never markup, control characters as escapes."""

    def render_str(self, text: str, **kwargs) -> Text:
        return super().render_str(visible(text), **kwargs)


console = _PlainConsole(stderr=True, highlight=False, markup=False)
if not console.is_terminal:  # a log file: tables as wide as they need, nothing cut
    console.width = max(console.width, 160)


def _roles(ctx, param, values: tuple[str, ...]) -> dict[str, str]:
    roles = {}
    for value in values:
        role, sep, column = value.partition("=")
        if not sep or not role or not column:
            raise click.BadParameter(f"expected ROLE=COLUMN, got {value!r}")
        roles[role.strip().lower()] = column
    return roles


def _config(ctx: click.Context, param, value: str | None) -> None:
    """``--config``: the project file's settings become the command's defaults (click's
    ``default_map``), so options given on the command line still win."""
    if value is None:
        return
    from ..project import load_project

    project = load_project(value)
    command = ctx.command_path.split(" ", 1)[1]  # "gaps", "clusters build"
    ctx.default_map = {**(ctx.default_map or {}), **project.command_defaults(command)}
    ctx.meta[_PROJECT] = project


def config_option(command):
    """``--config FILE``: defaults from a project file (``assetmap.toml``, see
    :mod:`assetmap.project`)."""
    return click.option(
        "--config", type=click.Path(), is_eager=True, expose_value=False, callback=_config,
        metavar="FILE",
        help="Project file (assetmap.toml, or its folder; 'assetmap init' writes one): its "
             "registers, column roles, layers and tables are the defaults.")(command)


def layer_names(ctx, param, value: str | None) -> list[str] | None:
    """A comma-separated ``--layers``/``--by`` value as a list (None when empty)."""
    names = [name.strip() for name in (value or "").split(",") if name.strip()]
    return names or None


def print_warnings(warnings: list[str]) -> None:
    """Each warning on one line (the terminal wraps it, not rich: logs keep it whole)."""
    for warning in warnings:
        console.print(f"warning: {warning}", style="yellow", soft_wrap=True)


def register_options(command):
    """Options for reading and locating registers; they arrive as ``register_kwargs``."""
    options = [
        config_option,
        click.argument("registers", nargs=-1, required=True, type=click.Path()),
        click.option("-b", "--boundaries", default="bradford", show_default=True,
                     help="Boundary set: a name from boundaries/ or a .toml file. It names the "
                          "layers, the postcode file and the study area."),
        click.option("--postcodes", type=click.Path(),
                     help="Postcode file or folder (Code-Point Open, or any CSV with postcode "
                          "and coordinates). Default: the boundary set's."),
        click.option("--sheet", help="Sheet of an XLSX register (name or number), or layer of "
                                     "a GeoPackage. Default: the first."),
        click.option("--header-row", type=click.IntRange(min=1), metavar="N",
                     help="Row number of the header in CSV and XLSX registers, as a "
                          "spreadsheet shows it. Default: detected."),
        click.option("-c", "--column", "roles", multiple=True, callback=_roles,
                     metavar="ROLE=COLUMN",
                     help="Say which column plays a role when detection gets it wrong. Roles: "
                          "id, name, type, postcode, latitude, longitude, easting, northing. "
                          "Repeatable."),
        click.option("--category",
                     help="Category for registers with no type column, e.g. \"GP practice\". "
                          "Default: guessed from the file name, and reported. Refused when a "
                          "column looks like types: name it (-c type=COLUMN) or use --all-rows."),
        click.option("--all-rows", metavar="CATEGORY",
                     help="Give every row of registers with no type column this category, "
                          "even when a column looks like types."),
        click.option("--fix-postcodes", is_flag=True,
                     help="Read a postcode one look-alike character from a known one (BD5 OPH "
                          "for BD5 0PH) as that postcode, with a note. Default: suggest it."),
        click.option("--taxonomy", "taxonomies", multiple=True, type=click.Path(),
                     help="Extra category file (TOML, as assets/taxonomy.toml) extending the "
                          "built-in one. Repeatable."),
        click.option("--no-study-area", is_flag=True,
                     help="Do not reject rows outside the boundary set's study area."),
        click.option("--tolerance", type=click.FloatRange(min=0), default=EDGE_TOLERANCE_M,
                     show_default=True,
                     help="Metres: a row this close outside the study area is kept, and a "
                          "point this close outside every area of a layer takes the nearest "
                          "one (flagged 'nearest')."),
    ]

    @functools.wraps(command)
    def wrapped(registers, boundaries, postcodes, sheet, header_row, roles, category, all_rows,
                fix_postcodes, taxonomies, no_study_area, tolerance, **kwargs):
        from ..taxonomy import load_taxonomy

        register_kwargs = dict(
            boundaries=boundaries, postcodes=postcodes, sheet=sheet, header_row=header_row,
            roles=roles, category=category, all_rows=all_rows, fix_postcodes=fix_postcodes,
            taxonomy=load_taxonomy(*taxonomies),
            use_study_area=not no_study_area, tolerance=tolerance)
        ctx = click.get_current_context()
        if _PROJECT in ctx.meta:  # each register's own options, unless given here
            own = ctx.meta[_PROJECT].shared_register_kwargs(registers)
            register_kwargs.update({name: own[name] for name in READING_OPTIONS
                                    if ctx.get_parameter_source(name) is ParameterSource.DEFAULT})
        return command(registers=registers, register_kwargs=register_kwargs, **kwargs)

    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


def demand_options(command):
    """The planning layers and the population and deprivation tables (``assetmap gaps``,
    ``assetmap plan``); they arrive as ``demand_kwargs`` for :func:`assetmap.gap_analysis`."""
    from ..settings import AGGREGATIONS

    options = [
        click.option("--by", callback=layer_names, default="ward", show_default=True,
                     metavar="NAME,...",
                     help="Planning layers to report on: names from the boundary set (ward, "
                          "constituency, ...), boundary files, or NAME=PATH (pcn=pcn.gpkg)."),
        click.option("-p", "--population", required=True, type=click.Path(dir_okay=False),
                     help="People per small area (CSV or XLSX): total, children 0-15 and any "
                          "other counts, e.g. the IoD2019 population denominators "
                          "(population_lsoa.csv)."),
        click.option("-d", "--deprivation", type=click.Path(dir_okay=False),
                     help="IMD rank and decile per small area (imd2019_lsoa.csv). Without it "
                          "there are no need measures and no one counts as deprived."),
        click.option("--demand-column", "demand_columns", multiple=True, callback=_roles,
                     metavar="ROLE=COLUMN",
                     help="Say which column of the tables plays a role when detection gets it "
                          "wrong: code, population, children, imd_rank, imd_decile. "
                          "Repeatable."),
        click.option("--small-areas", default="lsoa", show_default=True, metavar="LAYER",
                     help="Layer of the boundary set whose codes the tables use."),
        click.option("--points", default="postcodes", show_default=True,
                     metavar="postcodes|LAYER",
                     help="Where people live: postcode points (each small area's people split "
                          "evenly over its postcodes), or the representative points of a "
                          "layer's areas (oa: output areas)."),
        click.option("--aggregate", "aggregation", type=click.Choice(AGGREGATIONS),
                     default="auto", show_default=True,
                     help="From small areas to planning areas: best_fit (each small area "
                          "whole to one area), apportion (split by the demand points in each "
                          "area), area (split by area, tobler); auto: best_fit where the small "
                          "areas nest, else apportion."),
    ]

    @functools.wraps(command)
    def wrapped(by, population, deprivation, demand_columns, small_areas, points, aggregation,
                **kwargs):
        demand_kwargs = dict(by=by or ["ward"], population=population, deprivation=deprivation,
                             demand_columns=demand_columns, small_areas=small_areas,
                             points=points, aggregation=aggregation)
        return command(demand_kwargs=demand_kwargs, **kwargs)

    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


def input_files(params: dict) -> list[Path]:
    """Every file a command reads, from its parameters: registers, tables, taxonomies, the
    postcode file, the boundary set's files and every layer named as a file."""
    from ..boundaries import as_boundary_set, layer_spec
    from ..errors import AssetmapError

    values = [params.get(name) for name in _INPUT_PARAMS]
    files = [Path(v) for value in values for v in _items(value)]
    bset = as_boundary_set(params.get("boundaries") or "bradford")
    if str(params.get("boundaries", "")).endswith(".toml"):
        files.append(Path(params["boundaries"]))
    files += [spec.file for spec in bset.layers.values()]
    files += [bset.postcodes] if bset.postcodes and not params.get("postcodes") else []
    for item in (v for name in _LAYER_PARAMS for v in _items(params.get(name))):
        with suppress(AssetmapError):  # not a layer ("--points postcodes"): the command says
            files.append(layer_spec(bset, str(item)).file)
    files += [f.with_suffix(part) for f in files if f.suffix.lower() == ".shp"
              for part in _SHAPEFILE_PARTS]
    return files


def _items(value) -> list:
    return [] if value is None else list(value) if isinstance(value, list | tuple) else [value]


def check_outputs(outputs: Sequence[Path]) -> None:
    """Before any work: a one-line error if a file the command reads (see
    :func:`input_files`) is a pipe or device, or if a file it will write is one it reads or
    cannot be written."""
    from ..errors import refuse_special_file
    from ..outputs import check_writable, clashes

    inputs = input_files(click.get_current_context().params)
    for path in inputs:
        refuse_special_file(path)
    clashes(outputs, inputs)
    check_writable(outputs)


@contextmanager
def progress_status():
    """A spinner on stderr, and the callback that updates its message."""
    with console.status("Starting") as status:
        yield lambda message: status.update(Text(visible(message)))  # text, not markup


def number_column(table: Table, header: str) -> None:
    """A right-aligned column of numbers, never cut: the text columns (``overflow="fold"``)
    wrap first when the terminal is narrow."""
    table.add_column(header, justify="right", no_wrap=True)


def print_audit_summary(audit: pd.DataFrame) -> None:
    """Rows located and rejected per register, and the rejection reasons by kind."""
    table = Table(title="Register rows", title_justify="left")
    table.add_column("register", overflow="fold")
    for header in ("rows", "located", "rejected"):
        number_column(table, header)
    by_source = audit.groupby("source", sort=False)["status"]
    for source, status in by_source:
        table.add_row(str(source), f"{len(status):,}",
                      f"{(status == 'located').sum():,}", f"{(status == 'rejected').sum():,}")
    console.print(table)
    for source, roles in audit.attrs.get("roles", {}).items():
        console.print(f"{source} columns: {roles}")
    rejected = audit[audit["status"] == "rejected"]
    if len(rejected):
        kinds = rejected["reason"].str.replace(r"\s*('[^']*'|\([^)]*\)|\d+)", "", regex=True)
        reasons = Table(title="Why rows were rejected", title_justify="left")
        reasons.add_column("reason", overflow="fold")
        number_column(reasons, "rows")
        for kind, count in kinds.value_counts().items():
            reasons.add_row(kind, f"{count:,}")
        console.print(reasons)
    noted = (audit["notes"] != "").sum()
    if noted:
        console.print(f"{noted:,} rows carry notes (swapped coordinates, fuzzy types, ...): "
                      "see the report.")
