"""The ``assetmap`` command: registers the subcommands and turns errors into one line."""

from __future__ import annotations

import warnings

import click

from ..errors import AssetmapError, AssetmapWarning
from ..memory import return_freed_memory
from .clusters import clusters_group
from .diff import diff_command
from .finder import finder_command
from .gaps import gaps_command
from .init import init_command
from .join import join_command
from .map import map_command
from .near import near_command
from .options import print_warnings, visible
from .plan import plan_group
from .report import demo_command, report_command
from .validate import validate_command


class _Group(click.Group):
    """Print an :class:`AssetmapError` as one line (exit 2); a bug as one line (exit 3)."""

    def invoke(self, ctx: click.Context):
        return_freed_memory()
        try:
            with warnings.catch_warnings():  # an AssetmapWarning is one line, every time
                warnings.simplefilter("always", AssetmapWarning)
                warnings.showwarning = _show_warning(warnings.showwarning)
                return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except AssetmapError as error:
            click.echo(f"assetmap: error: {visible(str(error))}", err=True)
            ctx.exit(2)
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            click.echo(f"assetmap: internal error: {type(error).__name__}: {visible(str(error))} "
                       "(rerun with --debug for the traceback)", err=True)
            ctx.exit(3)


def _show_warning(default):
    """A ``warnings.showwarning`` printing an :class:`AssetmapWarning` as ``warning: ...``."""
    def show(message, category, *args, **kwargs):
        if issubclass(category, AssetmapWarning):
            print_warnings([str(message)])
        else:
            default(message, category, *args, **kwargs)
    return show


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"],
                                           "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show the full traceback of an internal error.")
@click.version_option(package_name="assetmap")
def cli(debug: bool) -> None:
    """Join community asset registers to the areas people plan by.

    \b
    Typical session (Bradford open-data bundle, see ASSETMAP_DATA_DIR):
      assetmap validate registers/community_venues.xlsx
      assetmap join registers/*.csv --layers ward,constituency,lsoa -o joined.gpkg
      assetmap clusters build gp_practices.csv --cluster pcn_code -o pcn.gpkg
      assetmap gaps hubs.xlsx --category "family hub site" --by ward,pcn=pcn.gpkg
               -p population_lsoa.csv -d imd2019_lsoa.csv -o hub_gaps.xlsx
      assetmap map hubs.xlsx --gaps hub_gaps.csv --measure ward:gap_score

    \b
    The whole planning pack (report, workbook, GeoPackage, map) in one command:
      assetmap demo                   # on the Bradford open-data bundle
      assetmap report -c my_study     # from a project file

    \b
    Or write the options once in a project file:
      assetmap init my_study          # a commented assetmap.toml from the files there
      assetmap clusters build --config my_study
      assetmap gaps --config my_study

    Exit codes: 0 done; 1 rows rejected under --strict; 2 bad input; 3 internal error.
    """


cli.add_command(init_command)
cli.add_command(validate_command)
cli.add_command(join_command)
cli.add_command(clusters_group)
cli.add_command(gaps_command)
cli.add_command(map_command)
cli.add_command(plan_group)
cli.add_command(diff_command)
cli.add_command(near_command)
cli.add_command(finder_command)
cli.add_command(report_command)
cli.add_command(demo_command)
