"""``assetmap join``: tag every asset with the areas it lies in, and count assets per area."""

from __future__ import annotations

import click

from .options import (
    check_outputs,
    console,
    layer_names,
    print_audit_summary,
    progress_status,
    register_options,
)


@click.command("join")
@register_options
@click.option("-l", "--layers", callback=layer_names, metavar="NAME,...",
              help="Layers to join: names from the boundary set (ward, constituency, lsoa, "
                   "...), boundary files, or NAME=PATH to join a file under a name of your "
                   "own (pcn=out/pcn.gpkg, as 'assetmap clusters build' writes it: assets "
                   "get pcn_code, pcn_name and pcn_match). Default: every layer of the set.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="joined.gpkg",
              show_default=True,
              help="Assets with their areas: .gpkg (QGIS), .geojson or .csv. Beside it go "
                   "<name>_counts.csv (assets per area and category) and <name>_audit.csv "
                   "(every register row).")
@click.option("--engine", type=click.Choice(["memory", "dask"]), default="memory",
              show_default=True,
              help="Where the join runs: in this process, or on a dask.distributed cluster "
                   "(points partitioned along a Hilbert curve; the same result). Needs "
                   "pip install 'assetmap[dask]'.")
@click.option("--scheduler", metavar="ADDRESS",
              help="With --engine dask: a running scheduler (tcp://host:8786). Default: a "
                   "local cluster of 2 workers with bounded memory.")
def join_command(registers, register_kwargs, layers, output, engine, scheduler) -> None:
    """Join asset registers to boundary layers.

    Each asset gets, for every layer, the code and name of the area it lies in and a
    match flag: inside, border (on an area's boundary: the lowest code it touches wins),
    nearest (within --tolerance outside the outline) or outside (no area).

    \b
    Examples:
      assetmap join registers/*.csv --layers ward,constituency,lsoa -o joined.gpkg
      assetmap join sites.xlsx --layers ward,pcn_clusters.gpkg -o sites.csv
      assetmap join gp_practices.csv schools.csv --layers ward,pcn=out/pcn.gpkg
      assetmap join national.csv.gz -b gb --layers lsoa --engine dask -o national.gpkg
    """
    from ..outputs import check_format, join_outputs, output_set
    from ..pipeline import join_registers, write_join

    if scheduler and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    written = join_outputs(output)
    check_outputs(written)
    check_format(written[0])
    with progress_status() as progress:
        result = join_registers(registers, layers=layers, engine=engine, scheduler=scheduler,
                                progress=progress, **register_kwargs)
        progress(f"Writing {output}")
        with output_set(written) as staged:
            write_join(result, staged[0])
    print_audit_summary(result.audit)
    for name in result.layers:
        match = result.assets[f"{name}_match"].value_counts()
        flagged = ", ".join(f"{match[m]} {m}" for m in ("border", "nearest", "outside")
                            if m in match)
        console.print(f"{name}: {len(result.layers[name]):,} areas; "
                      f"{match.get('inside', 0):,} assets inside" +
                      (f", {flagged}" if flagged else ""))
    console.print(f"Wrote {', '.join(str(path) for path in written)}")
