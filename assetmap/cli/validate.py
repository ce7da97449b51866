"""``assetmap validate``: read and locate registers, report every row that cannot be used."""

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


@click.command("validate")
@register_options
@click.option("-r", "--report", type=click.Path(dir_okay=False), default="validation_report.csv",
              show_default=True, help="Row-level report (CSV): one row per register row.")
@click.option("--strict", is_flag=True, help="Exit 1 if any row is rejected.")
def validate_command(registers, register_kwargs, report, strict) -> None:
    """Check asset registers: every row is located, or rejected with a reason.

    REGISTERS are CSV (UTF-8 or Windows-1252), XLSX, GeoJSON, GeoPackage or Shapefile
    files. Columns are recognised by the names people use (Name, Site Name, Type,
    Postcode, Lat/Long, Easting/Northing, ID); title rows above the header are skipped.
    A row is located by its geometry, else easting/northing, else latitude/longitude,
    else postcode. Rejected: blank rows, duplicates, unknown or malformed postcodes,
    rows with no location, rows outside the study area.

    \b
    Examples:
      assetmap validate venues.xlsx --sheet "Sites 2025"
      assetmap validate groups.csv -c name="Group name" -c postcode=PC --strict
    """
    from ..outputs import output_set, write_table
    from ..pipeline import validate_registers

    check_outputs([Path(report)])
    with progress_status() as progress:
        _, audit = validate_registers(registers, progress=progress, **register_kwargs)
    print_audit_summary(audit)
    with output_set([Path(report)]) as (staged,):
        write_table(audit, staged)
    console.print(f"Report: {report}")
    if strict and (audit["status"] == "rejected").any():
        raise SystemExit(1)
