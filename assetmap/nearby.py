"""The front door end to end, as ``assetmap near`` and ``assetmap finder`` run it: registers
located once, then the assets nearest to residents' places, or the offline finder page.

With :mod:`assetmap.pipeline`, :mod:`assetmap.analyses`, :mod:`assetmap.report` and
:mod:`assetmap.plans` this is the orchestration layer: step modules never import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from .boundaries import BoundarySet, as_boundary_set, load_layer, outline
from .errors import AssetmapError
from .finder import finder_page
from .locate import known_category
from .near import WALK_KMH, nearest_assets, parse_places
from .pipeline import Registers, locate_registers, validate_registers
from .postcodes import PostcodeIndex
from .progress import Progress, no_progress
from .registers import read_register
from .taxonomy import load_taxonomy


def finder_for_registers(
    paths: Sequence[str | Path],
    *,
    boundaries: str | Path | BoundarySet = "bradford",
    postcodes: str | Path | None = None,
    title: str = "",
    progress: Progress = no_progress,
    **register_options,
) -> tuple[str, pd.DataFrame]:
    """The finder page (:func:`assetmap.finder.finder_page`) of registers located against
    a boundary set, searching the postcodes of its study area (from ``postcodes``, default
    the set's postcode file), and the registers' row audit (rows not located are not on
    the page). ``register_options`` as for :func:`validate_registers`."""
    bset = as_boundary_set(boundaries)
    postcode_file = postcodes or bset.postcodes
    if postcode_file is None:
        raise AssetmapError(f"boundary set {bset.name!r} names no postcode file: give one "
                            "(--postcodes) for the finder to search")
    if not bset.study_area:
        raise AssetmapError(f"boundary set {bset.name!r} names no study area, whose "
                            "postcodes the finder searches")
    progress(f"Drawing the study area from layer {bset.study_area!r}")
    area = outline(load_layer(bset.spec(bset.study_area)))
    taxonomy = register_options.pop("taxonomy", None) or load_taxonomy()
    assets, audit = validate_registers(paths, boundaries=bset, postcodes=postcode_file,
                                   study_area=area, taxonomy=taxonomy, progress=progress,
                                   **register_options)
    progress("Finding the study area's postcodes")
    index = PostcodeIndex.from_file(postcode_file)
    inside = shapely.contains_xy(area, index.easting, index.northing)  # NaN: outside
    codes = pd.DataFrame({"postcode": index.postcodes[inside].astype(str),
                          "easting": index.easting[inside],
                          "northing": index.northing[inside]})
    progress("Writing the finder page")
    return finder_page(assets, codes, taxonomy=taxonomy,
                       title=title or f"{bset.name}: find places near you",
                       attribution=bset.attribution), audit


#: Files of places (a referral list) that :func:`near_places` reads, by suffix.
_PLACE_FILES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")


def near_places(
    places: Sequence[str] | str | Path,
    registers: Registers,
    *,
    category: str | Sequence[str] | None = None,
    n: int = 5,
    within: float | None = None,
    speed_kmh: float = WALK_KMH,
    place_column: str | None = None,
    boundaries: str | Path | BoundarySet = "bradford",
    postcodes: str | Path | None = None,
    progress: Progress = no_progress,
    **register_options,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The assets nearest to places, as ``assetmap near`` finds them: ``(results, places)``.

    ``places`` are postcodes, ``"easting,northing"`` or ``"latitude,longitude"`` texts
    (:func:`assetmap.near.parse_places`), or a referral list: a CSV or XLSX file (a
    ``Path``, or a text ending ``.csv``, ``.xlsx`` ...) whose postcode column (or
    ``place_column``) holds them. ``registers`` are files, located against the boundary
    set by :func:`validate_registers` (``register_options``), or located assets.
    ``category`` (free text) keeps assets of those categories only; it is not given to
    registers with no type column (their category is guessed from the file name, or
    ``all_rows``), so two such registers are never both taken for it.

    ``results`` has a row per place and asset, the ``n`` nearest of each category within
    ``within`` metres (:func:`assetmap.near.nearest_assets`), headed by the place's
    ``row`` (the file's row number, or 1 to n) and ``place`` as typed. ``places`` is the
    audit: one row per place, located or rejected with the reason, and ``found``, the
    assets found for it.
    """
    bset = as_boundary_set(boundaries)
    taxonomy = register_options.pop("taxonomy", None) or load_taxonomy()
    asked = [category] if isinstance(category, str) else list(category or [])
    labels = [known_category(text, taxonomy) for text in asked] or None
    texts, rows = _place_texts(places, place_column)
    postcode_file = postcodes or bset.postcodes
    index = None
    if postcode_file is not None:
        progress(f"Loading postcodes from {Path(postcode_file).name}")
        index = PostcodeIndex.from_file(postcode_file)
    progress(f"Locating {len(texts):,} places")
    xy, audit = parse_places(texts, index, rows=rows,
                             fix_postcodes=register_options.get("fix_postcodes", False))
    assets, _ = locate_registers(
        registers, boundaries=bset, postcodes=postcodes, taxonomy=taxonomy, progress=progress,
        **register_options)
    progress("Finding the nearest assets")
    results = nearest_assets(xy, assets, n=n, within=within, categories=labels,
                             speed_kmh=speed_kmh)
    position = results.pop("place").to_numpy()
    audit["found"] = np.bincount(position, minlength=len(audit))
    results.insert(0, "row", audit["row"].to_numpy()[position])
    results.insert(1, "place", audit["place"].to_numpy()[position])
    return results, audit


def _place_texts(places: Sequence[str] | str | Path, column: str | None
                 ) -> tuple[list[str], pd.Index | None]:
    """Places as typed, and their row numbers when read from a referral list."""
    if isinstance(places, Path) or (isinstance(places, str)
                                    and Path(places).suffix.lower() in _PLACE_FILES):
        register = read_register(places, roles={"postcode": column} if column else None)
        if "postcode" not in register.roles:
            raise AssetmapError("no postcode column found: name the column holding the "
                                "places (--place-column)", file=register.path)
        cells = register.column("postcode")
        return cells.tolist(), cells.index
    return ([places] if isinstance(places, str) else list(places)), None
