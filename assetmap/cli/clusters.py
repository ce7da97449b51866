"""``assetmap clusters``: cluster polygons and Area Advisory Networks, and their overlap with
wards and constituencies."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    check_outputs,
    config_option,
    console,
    layer_names,
    print_audit_summary,
    print_warnings,
    progress_status,
    register_options,
)


@click.group("clusters")
def clusters_group() -> None:
    """Draw GP-practice and school clusters as polygons; group them into areas.

    \b
    Examples (Bradford open-data bundle):
      assetmap clusters build gp_practices.csv --cluster pcn_code --cluster-name pcn_name \\
          --method voronoi -o pcn.gpkg
      assetmap clusters overlap pcn.gpkg --population population_lsoa.csv -o pcn_wards.csv
      assetmap join gp_practices.csv schools.csv --layers ward,pcn=pcn.gpkg
    """


@clusters_group.command("build")
@register_options
@click.option("--members", type=click.Path(dir_okay=False),
              help="Membership table (CSV or XLSX): a site-id column and a cluster column. "
                   "Default: the registers name each site's cluster themselves.")
@click.option("--cluster", default="cluster", show_default=True, metavar="COLUMN",
              help="Column holding the cluster code: in the membership table, else in the "
                   "registers (e.g. pcn_code).")
@click.option("--cluster-name", metavar="COLUMN",
              help="Column holding the cluster name (e.g. pcn_name). Default: the code.")
@click.option("--member-id", metavar="COLUMN",
              help="Site-id column of the membership table, matched to the registers' ID "
                   "column. Default: detected (ID, URN, practice code, ODS code, ...).")
@click.option("-m", "--method", type=click.Choice(["nearest", "voronoi"]),
              help="nearest: each small area (--blocks) joins the cluster of its nearest "
                   "site, so boundaries follow statistical geography; voronoi: cells around "
                   "the sites, clipped to the study area, so every site lies in its own "
                   "cluster. [default: nearest]")
@click.option("--blocks", default="oa", show_default=True,
              help="Small-area layer of the boundary set that 'nearest' builds from "
                   "(oa or lsoa).")
@click.option("--polygons", type=click.Path(dir_okay=False),
              help="Take the cluster polygons from this file (code and name columns, or "
                   "ONS-style ones) instead of drawing them.")
@click.option("--areas", type=click.Path(dir_okay=False),
              help="Table cluster -> area (columns: cluster, area, optional area_name) to "
                   "dissolve clusters into Area Advisory Networks, written to "
                   "<name>_areas beside the output.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="clusters.gpkg",
              show_default=True,
              help="Cluster polygons (code, name, members, area_km2): .gpkg or .geojson. "
                   "Beside it go <name>_members.csv (each site, its cluster, its distance "
                   "to its cluster's polygon) and <name>_audit.csv (every register row).")
def build_command(registers, register_kwargs, members, cluster, cluster_name, member_id,
                  method, blocks, polygons, areas, output) -> None:
    """Draw one polygon per cluster of sites; together they tile the study area.

    REGISTERS hold the member sites (GP practices, schools), read and located as by
    'assetmap validate'. Sites of different clusters at one location are reported; with
    voronoi their cell is split so the site lies on the border of each cluster.
    The output plugs into 'assetmap join --layers pcn=OUTPUT'.

    \b
    Examples:
      assetmap clusters build gp_practices.csv --cluster pcn_code --cluster-name pcn_name
      assetmap clusters build schools.csv --members school_clusters.csv --member-id URN \\
          --method voronoi --areas networks.csv -o school_clusters.gpkg
    """
    from ..analyses import build_clusters
    from ..clusters import write_clusters
    from ..outputs import check_format, cluster_outputs, output_set

    written = cluster_outputs(output, areas=areas is not None)
    check_outputs(written)
    check_format(written[0], polygons=True)
    with progress_status() as progress:
        result = build_clusters(
            registers, members=members, cluster=cluster, cluster_name=cluster_name,
            member_id=member_id, method=method or ("file" if polygons else "nearest"),
            blocks=blocks, polygons=polygons, areas=areas, progress=progress,
            **register_kwargs)
        progress(f"Writing {output}")
        with output_set(written) as staged:
            write_clusters(result, staged[0])
    print_audit_summary(result.audit)
    print_warnings(result.warnings)
    difference, overlap = result.tiling
    console.print(f"{len(result.clusters)} clusters of {len(result.members)} sites tile "
                  f"{result.outline.area / 1e6:,.2f} km² (area difference {difference:+.4f}%, "
                  f"largest overlap {overlap:.1f} m²)"
                  + (f"; {len(result.areas)} areas" if result.areas is not None else ""))
    console.print(f"Wrote {', '.join(str(path) for path in written)}")


@clusters_group.command("overlap")
@config_option
@click.argument("clusters")
@click.option("-p", "--population", required=True, type=click.Path(dir_okay=False),
              help="People per small area (CSV or XLSX), e.g. the IoD2019 population "
                   "denominators (bradford/population_lsoa.csv).")
@click.option("-l", "--layers", callback=layer_names, default="ward,constituency",
              show_default=True, metavar="NAME,...",
              help="Layers to overlap with: names from the boundary set, boundary files, or "
                   "NAME=PATH.")
@click.option("-b", "--boundaries", default="bradford", show_default=True,
              help="Boundary set: a name from boundaries/ or a .toml file.")
@click.option("--population-layer", default="lsoa", show_default=True,
              help="Layer of the boundary set whose areas the population table counts.")
@click.option("--population-code", metavar="COLUMN",
              help="Population table column with the small-area code. Default: the column "
                   "whose values are the layer's codes.")
@click.option("--population-column", metavar="COLUMN",
              help="Population table column with the number of people. Default: detected "
                   "from the header ('Total population ...').")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="overlap.csv",
              show_default=True, help="The overlap table (CSV).")
def overlap_command(clusters, population, layers, boundaries, population_layer,
                    population_code, population_column, output) -> None:
    """Which wards and constituencies each cluster covers, with population shares.

    CLUSTERS is a cluster or area layer (as 'clusters build' writes it, any boundary file,
    or a layer name). One row per cluster and area they share: area (km², to 0.001),
    population (whole people), share_of_cluster (% of the cluster's population in the
    area, to 0.1; 100 per cluster and layer) and share_of_area (% of the area's
    population in the cluster). A small area's population is spread over its pieces in
    proportion to their area. For Area Advisory Networks (the <name>_areas layer of
    'clusters build --areas') the columns are aan_code, aan_name and share_of_aan.

    \b
    Examples:
      assetmap clusters overlap pcn.gpkg -p population_lsoa.csv -o pcn_overlap.csv
      assetmap clusters overlap pcn_areas.gpkg -p population_lsoa.csv --layers ward
    """
    from ..analyses import cluster_overlap
    from ..clusters import KINDS, write_overlap
    from ..outputs import output_set

    check_outputs([Path(output)])
    with progress_status() as progress:
        table, warnings = cluster_overlap(
            clusters, population, layers=layers, population_layer=population_layer,
            population_code=population_code, population_column=population_column,
            boundaries=boundaries, progress=progress)
        progress(f"Writing {output}")
        with output_set([Path(output)]) as (staged,):
            write_overlap(table, staged)
    print_warnings(warnings)
    kind = table.attrs["kind"]
    for layer, rows in table.groupby("layer", sort=False):
        console.print(f"{layer}: {rows[f'{kind}_code'].nunique()} {KINDS[kind]} share "
                      f"{rows['code'].nunique()} areas ({len(rows)} pairs)")
    console.print(f"Wrote {output}")
