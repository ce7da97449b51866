"""Options shared by the commands, and the terminal output they have in common."""

from __future__ import annotations

import functools
from contextlib import contextmanager

import click
import pandas as pd
from rich.console import Console
from rich.table import Table

from ..outputs import refuse_to_overwrite
from ..settings import EDGE_TOLERANCE_M
from ..taxonomy import load_taxonomy

console = Console(stderr=True, highlight=False)


def _roles(ctx, param, values: tuple[str, ...]) -> dict[str, str]:
    roles = {}
    for value in values:
        role, sep, column = value.partition("=")
        if not sep or not role or not column:
            raise click.BadParameter(f"expected ROLE=COLUMN, got {value!r}")
        roles[role.strip().lower()] = column
    return roles


def layer_names(ctx, param, value: str | None) -> list[str] | None:
    """A comma-separated ``--layers``/``--by`` value as a list (None when empty)."""
    names = [name.strip() for name in (value or "").split(",") if name.strip()]
    return names or None


def print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        console.print(f"warning: {warning}", style="yellow", markup=False)


def register_options(command):
    """Options for reading and locating registers; they arrive as ``register_kwargs``."""
    options = [
        click.argument("registers", nargs=-1, required=True,
                       type=click.Path(dir_okay=False)),
        click.option("-b", "--boundaries", default="bradford", show_default=True,
                     help="Boundary set: a name from boundaries/ or a .toml file. It names the "
                          "layers, the postcode file and the study area."),
        click.option("--postcodes", type=click.Path(),
                     help="Postcode file or folder (Code-Point Open, or any CSV with postcode "
                          "and coordinates). Default: the boundary set's."),
        click.option("--sheet", help="Sheet of an XLSX register (name or number), or layer of "
                                     "a GeoPackage. Default: the first."),
        click.option("-c", "--column", "roles", multiple=True, callback=_roles,
                     metavar="ROLE=COLUMN",
                     help="Say which column plays a role when detection gets it wrong. Roles: "
                          "id, name, type, postcode, latitude, longitude, easting, northing. "
                          "Repeatable."),
        click.option("--category",
                     help="Category for registers with no type column, e.g. \"GP practice\". "
                          "Default: guessed from the file name, and reported."),
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
    def wrapped(registers, boundaries, postcodes, sheet, roles, category, taxonomies,
                no_study_area, tolerance, **kwargs):
        for name in ("output", "report"):  # outputs never replace an input
            if kwargs.get(name):
                refuse_to_overwrite(kwargs[name], registers)
        register_kwargs = dict(
            boundaries=boundaries, postcodes=postcodes, sheet=sheet, roles=roles,
            category=category, taxonomy=load_taxonomy(*taxonomies),
            use_study_area=not no_study_area, tolerance=tolerance)
        return command(registers=registers, register_kwargs=register_kwargs, **kwargs)

    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


@contextmanager
def progress_status():
    """A spinner on stderr, and the callback that updates its message."""
    with console.status("Starting") as status:
        yield lambda message: status.update(message)


def print_audit_summary(audit: pd.DataFrame) -> None:
    """Rows located and rejected per register, and the rejection reasons by kind."""
    table = Table(title="Register rows", title_justify="left")
    for header in ("register", "rows", "located", "rejected"):
        table.add_column(header, justify="left" if header == "register" else "right")
    by_source = audit.groupby("source", sort=False)["status"]
    for source, status in by_source:
        table.add_row(str(source), f"{len(status):,}", f"{(status == 'located').sum():,}",
                      f"{(status == 'rejected').sum():,}")
    console.print(table)
    for source, roles in audit.attrs.get("roles", {}).items():
        console.print(f"{source} columns: {roles}", markup=False)
    rejected = audit[audit["status"] == "rejected"]
    if len(rejected):
        kinds = rejected["reason"].str.replace(r"\s*('[^']*'|\([^)]*\)|\d+)", "", regex=True)
        reasons = Table(title="Why rows were rejected", title_justify="left")
        reasons.add_column("reason")
        reasons.add_column("rows", justify="right")
        for kind, count in kinds.value_counts().items():
            reasons.add_row(kind, f"{count:,}")
        console.print(reasons)
    noted = (audit["notes"] != "").sum()
    if noted:
        console.print(f"{noted:,} rows carry notes (swapped coordinates, fuzzy types, ...): "
                      "see the report.")
