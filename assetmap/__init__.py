"""assetmap: join community asset registers to planning geographies.

The flow, one function per arrow (all take and return (Geo)DataFrames)::

    read_register -> locate -> (load_assets does both, plus categories)
    load_layer / load_boundary_set -> join -> count_by_area
"""

from .boundaries import (
    BoundarySet,
    LayerSpec,
    load_boundary_set,
    load_layer,
    outline,
    repair,
)
from .errors import AssetmapError
from .join import assign_areas, count_by_area, join
from .locate import categorise, load_assets, locate
from .outputs import defuse_formulas, write_geo, write_table
from .pipeline import JoinResult, join_registers, validate_registers
from .postcodes import PostcodeIndex, normalise_postcodes
from .registers import Register, detect_roles, read_register
from .settings import data_dir
from .taxonomy import Taxonomy, classify, load_taxonomy

__all__ = [
    "AssetmapError",
    "BoundarySet",
    "JoinResult",
    "LayerSpec",
    "PostcodeIndex",
    "Register",
    "Taxonomy",
    "assign_areas",
    "categorise",
    "classify",
    "count_by_area",
    "data_dir",
    "defuse_formulas",
    "detect_roles",
    "join",
    "join_registers",
    "load_assets",
    "load_boundary_set",
    "load_layer",
    "load_taxonomy",
    "locate",
    "normalise_postcodes",
    "outline",
    "read_register",
    "repair",
    "validate_registers",
    "write_geo",
    "write_table",
]
