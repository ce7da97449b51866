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
#: Types at least this similar (0-1) to a taxonomy synonym are taken as that category.
FUZZY_CUTOFF = 0.85

_PACKAGE = Path(__file__).resolve().parent


def data_dir() -> Path:
    """The open-data bundle: ``$ASSETMAP_DATA_DIR``, else ``../shared/data`` beside the checkout."""
    env = os.environ.get("ASSETMAP_DATA_DIR")
    return Path(env) if env else _PACKAGE.parent.parent / "shared" / "data"


def resource_dir(name: str) -> Path:
    """A folder shipped with the project (``assets`` or ``boundaries``).

    Installed wheels carry it inside the package; an editable install reads the checkout.
    """
    packaged = _PACKAGE / "_resources" / name
    return packaged if packaged.is_dir() else _PACKAGE.parent / name
