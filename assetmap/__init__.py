"""assetmap: join community asset registers to planning geographies.

The flow, one function per arrow (all take and return (Geo)DataFrames)::

    read_register -> locate -> (load_assets does both, plus categories)
    load_layer / load_boundary_set -> join -> count_by_area
    member sites + membership -> build_clusters -> cluster_overlap
    layers + assets -> make_map -> write_map
    small-area tables -> read_demand -> demand_points -> place_demand -> gap_table
"""

from .boundaries import (
    BoundarySet,
    LayerSpec,
    load_boundary_set,
    load_layer,
    outline,
    repair,
)
from .clusters import (
    ClusterResult,
    assign_members,
    build_clusters,
    cluster_overlap,
    dissolve_areas,
    nearest_clusters,
    overlap_table,
    read_membership,
    voronoi_clusters,
    write_clusters,
)
from .demand import (
    Demand,
    Placement,
    aggregate_demand,
    area_points,
    demand_points,
    locate_demand,
    place_demand,
    postcode_points,
    read_demand,
)
from .errors import AssetmapError
from .gaps import (
    GapFormula,
    GapResult,
    gap_analysis,
    gap_table,
    nearest_distance,
    read_gap_table,
    write_gaps,
)
from .join import assign_areas, count_by_area, join
from .locate import categorise, load_assets, locate
from .maps import make_map, write_map
from .outputs import defuse_formulas, write_geo, write_table, write_xlsx
from .pipeline import (
    JoinResult,
    join_registers,
    layer_spec,
    map_registers,
    validate_registers,
    write_join,
)
from .postcodes import PostcodeIndex, normalise_postcodes
from .registers import Register, detect_roles, read_register
from .settings import data_dir
from .taxonomy import Taxonomy, classify, load_taxonomy

__all__ = [
    "AssetmapError",
    "BoundarySet",
    "ClusterResult",
    "Demand",
    "GapFormula",
    "GapResult",
    "JoinResult",
    "LayerSpec",
    "Placement",
    "PostcodeIndex",
    "Register",
    "Taxonomy",
    "aggregate_demand",
    "area_points",
    "assign_areas",
    "assign_members",
    "build_clusters",
    "categorise",
    "classify",
    "cluster_overlap",
    "count_by_area",
    "data_dir",
    "defuse_formulas",
    "demand_points",
    "detect_roles",
    "dissolve_areas",
    "gap_analysis",
    "gap_table",
    "join",
    "join_registers",
    "layer_spec",
    "load_assets",
    "load_boundary_set",
    "load_layer",
    "load_taxonomy",
    "locate",
    "locate_demand",
    "make_map",
    "map_registers",
    "nearest_clusters",
    "nearest_distance",
    "normalise_postcodes",
    "outline",
    "overlap_table",
    "place_demand",
    "postcode_points",
    "read_demand",
    "read_gap_table",
    "read_membership",
    "read_register",
    "repair",
    "validate_registers",
    "voronoi_clusters",
    "write_clusters",
    "write_gaps",
    "write_geo",
    "write_join",
    "write_map",
    "write_table",
    "write_xlsx",
]
