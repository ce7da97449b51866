"""``assetmap plan``: where new sites should go (cover, median, setcover), and what opening or
closing named sites does (whatif)."""

from __future__ import annotations

import click
from rich import box
from rich.table import Table

from .options import (
    check_outputs,
    console,
    demand_options,
    number_column,
    print_warnings,
    progress_status,
    register_options,
    visible,
)


@click.group("plan")
def plan_group() -> None:
    """Where should the next sites go, and what does a closure do?

    \b
    cover     K new sites covering the most demand within the threshold
    median    K new sites minimising the demand-weighted distance to the nearest site
    setcover  the fewest new sites covering a target share of demand
    whatif    close or open named sites: the change per area, and who loses reach

    The existing sites of the category (REGISTERS) stay; new ones are chosen among the
    rows of --candidates registers (community centres, schools, libraries ...). Demand is
    the gap analysis's: people per small area spread over postcodes. Every problem is
    solved to proven optimality (HiGHS) after reductions that keep the optimum; the
    summary says the objective before and after, the gap, the time and the reductions.
    """


def _shared(command):
    """Options of every plan command: sites, demand tables, layers, threshold, output."""
    options = [
        register_options,
        demand_options,
        click.option("-t", "--threshold", type=float, metavar="METRES",
                     help="Within reach: default the category's coverage_m in the taxonomy."),
        click.option("-o", "--output", type=click.Path(dir_okay=False), default="plan.xlsx",
                     show_default=True,
                     help="The XLSX (sites, a sheet of changes per layer, summary); beside it "
                          "<name>.csv, .gpkg, .json (the summary) and .html (the map)."),
        click.option("--tiles", default="openstreetmap", show_default=True,
                     help="Map background: openstreetmap, cartodb, none, or a tile URL."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _problem(command):
    """Options of the location-allocation problems."""
    options = [
        click.option("--candidates", multiple=True, required=True,
                     type=click.Path(dir_okay=False), metavar="FILE",
                     help="Register of candidate sites (any rows: venues, schools ...). "
                          "Repeatable."),
        click.option("--demand", type=click.Choice(["residents", "children",
                                                    "deprived-children"]),
                     default="children", show_default=True,
                     help="Whose demand: residents, children, or children weighted 3 in IMD "
                          "decile 1 and 2 in decile 2 (stated in the outputs)."),
        click.option("--time-limit", type=click.FloatRange(min=1), default=60.0,
                     show_default=True, metavar="SECONDS",
                     help="Stop the solver then; the summary gives the optimality gap."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _k(command):
    return click.option("-k", "--sites", "k", type=int, required=True, metavar="K",
                        help="How many new sites.")(command)


@plan_group.command("cover")
@_shared
@_problem
@_k
@click.option("--capacity", metavar="COLUMN",
              help="Column of places per site (existing and candidate registers): demand is "
                   "covered up to each site's capacity.")
def cover_command(**options) -> None:
    """K new sites covering the most demand within the threshold (maximal coverage).

    \b
    Example (Bradford bundle): 3 schools to add to the 59 GP practices, for children
    within 800 m, weighted by deprivation:
      D=../shared/data/bradford
      assetmap plan cover $D/gp_practices.csv --category "GP practice" \\
          --candidates $D/schools.csv -k 3 -t 800 --demand deprived-children \\
          -p $D/population_lsoa.csv -d $D/imd2019_lsoa.csv --by ward,constituency -o plan.xlsx
    """
    _run("cover", **options)


@plan_group.command("median")
@_shared
@_problem
@_k
def median_command(**options) -> None:
    """K new sites minimising the demand-weighted distance to the nearest site (p-median).

    \b
    Example:
      assetmap plan median $D/gp_practices.csv --category "GP practice" \\
          --candidates $D/schools.csv -k 2 --demand residents -p $D/population_lsoa.csv
    """
    _run("median", **options)


@plan_group.command("setcover")
@_shared
@_problem
@click.option("--target", type=click.FloatRange(0, 1, min_open=True), required=True,
              metavar="SHARE",
              help="Share of the demand to cover, existing sites included (0.95 = 95%).")
def setcover_command(**options) -> None:
    """The fewest new sites covering a target share of the demand within the threshold.

    \b
    Example:
      assetmap plan setcover $D/gp_practices.csv --category "GP practice" \\
          --candidates $D/schools.csv --target 0.9 -t 1600 -p $D/population_lsoa.csv
    """
    _run("setcover", **options)


@plan_group.command("whatif")
@_shared
@click.option("--close", multiple=True, metavar="SITE",
              help="ID or name of an existing site of the category to close. Repeatable.")
@click.option("--open", "open_", multiple=True, metavar="SITE",
              help="ID or name of a --candidates row to open. Repeatable.")
@click.option("--candidates", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Register holding the sites to --open. Repeatable.")
def whatif_command(**options) -> None:
    """Close or open named sites: the change in coverage, distance and gap score per area,
    and how many residents and children lose (or gain) their last site within reach.

    \b
    Example: close Thornbury Medical Practice
      assetmap plan whatif $D/gp_practices.csv --category "GP practice" --close B83005 \\
          -p $D/population_lsoa.csv -d $D/imd2019_lsoa.csv --by ward,pcn=pcn.gpkg
    """
    _run("whatif", **options)


def _run(problem: str, *, registers, register_kwargs, demand_kwargs, threshold, output,
         tiles, candidates=(), **options) -> None:
    """Check the outputs, run the library call, write, and say what changed."""
    from ..errors import AssetmapError
    from ..outputs import output_set
    from ..whatif import site_change_outputs, write_site_change

    written = site_change_outputs(output)
    check_outputs(written)
    category = register_kwargs.pop("category")
    if not category:
        raise AssetmapError("say which category's sites are planned: --category")
    taxonomy = register_kwargs["taxonomy"]
    with progress_status() as progress:
        if problem == "whatif":
            from ..plans import what_if

            result = what_if(registers, category=category, close=options["close"],
                             open=options["open_"], candidates=list(candidates) or None,
                             threshold=threshold, progress=progress, **demand_kwargs,
                             **register_kwargs)
        else:
            from ..plans import plan_sites

            result = plan_sites(registers, category=category, candidates=list(candidates),
                                problem=problem, threshold=threshold, progress=progress,
                                **options, **demand_kwargs, **register_kwargs)
        progress(f"Writing {output}")
        with output_set(written) as staged:
            write_site_change(result, staged[0], taxonomy=taxonomy, map_options=dict(
                tiles=tiles, title=f"{result.summary['category']}: {problem}"))
    print_warnings(result.warnings)
    _print_summary(result)
    console.print(f"Wrote {', '.join(str(path) for path in written)}", markup=False)


def _print_summary(result) -> None:
    """The sites changed, the objective and the people who gain or lose reach."""
    summary = result.summary
    table = Table(title="Sites", title_justify="left", box=box.SIMPLE_HEAD)
    for header in ("change", "name", "id"):
        table.add_column(header, overflow="fold")
    gains = "gain" in result.sites
    if gains:
        number_column(table, "gain")
    for row in result.sites.itertuples(index=False):
        values = [visible(str(v)) for v in (row.change, row.name, row.id)]
        table.add_row(*values, *([f"{row.gain:,.0f}"] if gains else []))
    console.print(table)
    if "objective_before" in summary:
        proof = "optimal" if summary["optimal"] else f"gap {summary['gap']:.2%}"
        console.print(f"Objective: {summary['objective_before']:,.1f} before, "
                      f"{summary['objective_after']:,.1f} after ({proof}, "
                      f"{summary['seconds']:.2f} s); reductions: "
                      + ", ".join(f"{k} {v:,}" for k, v in summary["reductions"].items()),
                      markup=False)
    people = summary["people"]
    console.print("Within reach: " + ", ".join(f"{k.replace('_', ' ')} {v:,}"
                                               for k, v in people.items()), markup=False)

