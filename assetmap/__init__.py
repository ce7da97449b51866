"""assetmap: join community asset registers to planning geographies.

The flow, one function per arrow (all take and return (Geo)DataFrames)::

    read_register -> locate -> (load_assets does both, plus categories)
    load_layer / load_boundary_set -> join -> count_by_area
    member sites + membership -> build_clusters -> cluster_overlap
    layers + assets -> make_map -> write_map
    small-area tables -> read_demand -> demand_points -> place_demand -> gap_table
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

#: Public names by the module that defines them; each module is imported on first use, so
#: ``import assetmap`` (and the command line's ``--help``) does not pay for geopandas & co.
_EXPORTS = {
    "analyses": ("build_clusters", "cluster_overlap", "gap_analysis"),
    "boundaries": (
        "BoundarySet", "LayerSpec", "load_boundary_set", "load_layer", "outline",
        "repair", "layer_spec"
    ),
    "clusters": (
        "ClusterResult", "assign_members", "dissolve_areas", "nearest_clusters",
        "overlap_table", "read_membership", "voronoi_clusters", "write_clusters"
    ),
    "costs": ("Costs", "STRAIGHT_LINE", "StraightLine", "nearest_distance"),
    "demand": (
        "Demand", "Placement", "aggregate_demand", "area_points", "demand_points",
        "locate_demand", "place_demand", "postcode_points", "read_demand"
    ),
    "distributed": ("DistributedCosts", "client_for", "join_distributed",
                    "nearest_distributed"),
    "errors": ("AssetmapError",),
    "finder": ("finder_page", "write_finder"),
    "gaps": (
        "GapFormula", "GapResult", "gap_table", "read_gap_table", "write_gaps"
    ),
    "join": ("assign_areas", "count_by_area", "join"),
    "locate": ("categorise", "load_assets", "locate"),
    "maps": ("make_map", "write_map"),
    "near": ("nearest_assets", "parse_places", "write_near"),
    "nearby": ("finder_for_registers", "near_places"),
    "oruk": ("read_oruk",),
    "outputs": ("defuse_formulas", "write_geo", "write_table", "write_xlsx"),
    "pack": ("PlanningPack", "write_pack"),
    "plans": ("plan_sites", "what_if"),
    "pipeline": (
        "JoinResult", "join_registers", "map_registers", "validate_registers", "write_join"
    ),
    "postcodes": ("PostcodeIndex", "normalise_postcodes"),
    "project": ("Project", "load_project"),
    "report": ("planning_pack", "run_report"),
    "starter": ("demo_project", "starter_project"),
    "registers": ("Register", "detect_roles", "read_register"),
    "settings": ("data_dir",),
    "taxonomy": ("Taxonomy", "classify", "load_taxonomy"),
    "whatif": ("SiteChange", "write_site_change"),
    "workbook": ("write_people_workbook",),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_HOME)


class _Package(types.ModuleType):
    """The ``assetmap`` module, importing what it exports when first asked for."""

    def __getattr__(self, name: str):
        if name in _HOME:
            value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
            setattr(self, name, value)
            return value
        if name.isidentifier() and importlib.util.find_spec(f"{__name__}.{name}"):
            return importlib.import_module(f".{name}", __name__)  # a submodule
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __dir__(self):
        return sorted({*super().__dir__(), *__all__})

    def __setattr__(self, name: str, value) -> None:
        if name in _HOME and isinstance(value, types.ModuleType):
            return  # importing the module `join` (or `locate`) keeps the function its name
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
