"""Project-wide settings: the data folder, the working CRS and tolerances, in one place."""

from __future__ import annotations

import os
from pathlib import Path

#: CRS in which everything is measured (British National Grid); web maps use EPSG:4326.
WORK_CRS = "EPSG:27700"
#: CRS of web maps.
WEB_CRS = "EPSG:4326"
#: A point this close (metres) outside every area is given the nearest area, with a flag.
EDGE_TOLERANCE_M = 50.0
#: Two rows with the same name this close together (metres) are duplicates.
DUPLICATE_DISTANCE_M = 25.0
#: An XLSX register is refused when its parts expand to more than this (bytes), or to more
#: than XLSX_MAX_RATIO times the file's size once past XLSX_RATIO_FROM_BYTES (a zip bomb).
XLSX_MAX_BYTES = 1 << 30
XLSX_MAX_RATIO = 100
XLSX_RATIO_FROM_BYTES = 100 << 20
#: Attribute columns a GeoPackage layer holds (SQLite's 2000 columns, less fid and geometry).
GPKG_MAX_FIELDS = 1998
#: Ways of moving people from small areas to planning areas (see :mod:`assetmap.demand`).
AGGREGATIONS = ("auto", "best_fit", "apportion", "area")
#: Location-allocation problems (``assetmap plan``): max cover, p-median, set cover.
PROBLEMS = ("cover", "median", "setcover")
#: Whose demand a plan serves: residents, children, or children weighted by deprivation.
DEMANDS = ("residents", "children", "deprived-children")
#: Class break schemes of map shading: name -> mapclassify classifier.
SCHEMES = {"quantiles": "Quantiles", "natural_breaks": "FisherJenks",
           "equal_interval": "EqualInterval"}
#: Types at least this similar (0-1) to a taxonomy synonym are taken as that category.
FUZZY_CUTOFF = 0.85

_PACKAGE = Path(__file__).resolve().parent


def data_dir() -> Path:
    """The open-data bundle: ``$ASSETMAP_DATA_DIR``, else ``../shared/data`` beside the checkout."""
    env = os.environ.get("ASSETMAP_DATA_DIR")
    return Path(env) if env else _PACKAGE.parent.parent / "shared" / "data"


def cache_dir() -> Path:
    """Where built indexes are kept: ``$ASSETMAP_CACHE_DIR``, else ``~/.cache/assetmap``."""
    env = os.environ.get("ASSETMAP_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "assetmap"


def resource_dir(name: str) -> Path:
    """A folder shipped with the project (``assets`` or ``boundaries``).

    Installed wheels carry it inside the package; an editable install reads the checkout.
    """
    packaged = _PACKAGE / "_resources" / name
    return packaged if packaged.is_dir() else _PACKAGE.parent / name
