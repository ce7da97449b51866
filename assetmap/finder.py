"""``finder.html``: the nearest assets to a postcode, on one self-contained page.

For ward officers and residents, on a desk or a phone, with no network: type a postcode,
choose categories, and see the nearest assets as a numbered list and on a small map (inline
SVG drawn in the browser: no tiles, no scripts from elsewhere), each with its distance, the
walk it is in minutes, and its address, opening times and contact from the register.

Everything the page shows comes from one JSON block (``<script type="application/json">``,
with ``<``, ``>``, ``&`` and U+2028/9 escaped, so no name can end it) that the page's own
script reads and puts into the page with ``textContent``: a name typed by the public is
only ever text. The study area's postcodes are embedded compactly: the inward codes of each
outward code joined into one string, and the coordinates as whole metres, delta-encoded in
postcode order (Bradford's 14,841 postcodes take 0.19 MB; with 1,074 assets the page is
0.27 MB). A postcode not found gets suggestions one character away, look-alikes (O/0,
I/1, S/5: :data:`assetmap.postcodes.LOOKALIKES`) first, computed in the browser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from .errors import AssetmapError
from .locate import ASSET_COLUMNS
from .near import WALK_KMH
from .outputs import atomic_path
from .postcodes import LOOKALIKES, POSTCODE_PATTERN
from .registers import filled_text
from .taxonomy import Taxonomy

#: What a resident asks about an asset, and the register columns (lower-case header
#: patterns) that answer it: their non-blank cells are shown joined, in column order.
DETAILS = {
    "Address": r"address|street|road|town|locality|village|\bcity|county",
    "Opening times": r"opening|hours|times|open\b",
    "Contact": r"phone|\btel|e-?mail|web|\burl|contact",
}
_OTHER = ("Other", "#555555")
_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
            0x2028: "\\u2028", 0x2029: "\\u2029"}
_ENV = jinja2.Environment(loader=jinja2.PackageLoader("assetmap", "templates"),
                          autoescape=True, undefined=jinja2.StrictUndefined)


def finder_page(
    assets: gpd.GeoDataFrame,
    postcodes: pd.DataFrame,
    *,
    taxonomy: Taxonomy,
    title: str = "",
    attribution: Sequence[str] = (),
) -> str:
    """The finder page: ``assets`` (points in EPSG:27700, as :func:`assetmap.load_assets`
    gives them, with the register's own columns) nearest to a postcode of ``postcodes``
    (the study area's: ``postcode``, ``easting``, ``northing``, normalised)."""
    codes = _postcodes(postcodes)
    if not codes["outward"]:
        raise AssetmapError("the finder has no postcodes with a position to search")
    assets = assets.reset_index(drop=True)
    example = codes["outward"][len(codes["outward"]) // 2] + " " + codes["inward"][
        len(codes["outward"]) // 2][:3]
    data = {"categories": _categories(assets, taxonomy), "assets": _assets(assets, taxonomy),
            "postcodes": codes, "pattern": POSTCODE_PATTERN, "example": example,
            "lookalikes": ["".join(pair) for pair in LOOKALIKES],
            "metres_per_minute": WALK_KMH * 1000 / 60}
    script = _ENV.loader.get_source(_ENV, "finder.js")[0]
    return _ENV.get_template("finder.html.j2").render(
        title=title or "Find community assets near you", attribution=list(attribution),
        walking_kmh=WALK_KMH, postcode_count=len(codes["easting"]), example=example,
        asset_count=len(assets), data=script_json(data), script=Markup(script))


def write_finder(page: str, path: str | Path) -> Path:
    """Write the finder page (atomically: the old file stays whole until the new one is)."""
    path = Path(path)
    with atomic_path(path) as temp:
        temp.write_text(page, encoding="utf-8")
    return path


def script_json(data) -> Markup:
    """``data`` as JSON safe inside a ``<script>`` element: ``</script>``, ``<!--`` and
    line separators in a value cannot end or break it."""
    return Markup(json.dumps(data, ensure_ascii=False, allow_nan=False,
                             separators=(",", ":")).translate(_ESCAPES))


def _category_labels(assets: gpd.GeoDataFrame) -> pd.Series:
    return filled_text(assets["category"]).replace("", _OTHER[0])


def _categories(assets: gpd.GeoDataFrame, taxonomy: Taxonomy) -> list[dict]:
    """The categories present, the taxonomy's in its order, then others, then "Other",
    each with its colour (grey when the taxonomy gives none that is a plain #rrggbb)."""
    present = set(_category_labels(assets))
    colours = dict(zip(taxonomy.categories["label"], taxonomy.categories["colour"],
                       strict=True))
    others = sorted(present - {*colours, _OTHER[0]})
    labels = [label for label in dict.fromkeys([*taxonomy.labels(), *others, _OTHER[0]])
              if label in present]
    return [{"label": label, "colour": colour if re.fullmatch(
        r"#[0-9a-fA-F]{6}", str(colour := colours.get(label, _OTHER[1]))) else _OTHER[1]}
        for label in labels]


def _assets(assets: gpd.GeoDataFrame, taxonomy: Taxonomy) -> dict:
    """The assets column-wise, in frame order: whole-metre coordinates, category number,
    name, and the details (:data:`DETAILS`) as text ("" if none)."""
    labels = [c["label"] for c in _categories(assets, taxonomy)]
    names = filled_text(assets["name"]).str.strip()
    details = {label: _joined(assets, pattern) for label, pattern in DETAILS.items()}
    postcode = filled_text(assets["postcode"]).str.strip()
    details["Address"] = (details["Address"] + ", " + postcode).str.strip(", ")
    return {"x": assets.geometry.x.round().astype(int).tolist(),
            "y": assets.geometry.y.round().astype(int).tolist(),
            "category": pd.Categorical(_category_labels(assets), categories=labels
                                       ).codes.tolist(),
            "name": names.mask(names == "", "(no name)").tolist(),
            "type": filled_text(assets["type"]).tolist(),
            "details": [{"label": label, "values": values.tolist()}
                        for label, values in details.items() if (values != "").any()]}


def _joined(assets: gpd.GeoDataFrame, pattern: str) -> pd.Series:
    """The non-blank cells of the register columns whose header matches ``pattern``,
    joined with commas ("" when none)."""
    own = [c for c in assets.columns if c not in {*ASSET_COLUMNS, assets.geometry.name}
           and re.search(pattern, str(c).lower())]
    joined = pd.Series("", index=assets.index)
    for column in own:  # a few columns, each whole
        cell = assets[column].astype(object).fillna("").astype(str).str.strip()
        joined = joined + np.where((joined != "") & (cell != ""), ", ", "") + cell
    return joined


def _postcodes(postcodes: pd.DataFrame) -> dict:
    """The postcodes with a position, sorted: each outward code with its inward codes as
    one string (3 characters each), and coordinates as whole metres, delta-encoded."""
    table = postcodes.dropna(subset=["easting", "northing"]).drop_duplicates("postcode")
    table = table.sort_values("postcode")
    code = table["postcode"].astype(str)
    inward = code.str[-3:].groupby(code.str[:-4].to_numpy(), sort=False).agg("".join)
    return {"outward": inward.index.tolist(), "inward": inward.tolist(),
            "easting": _deltas(table["easting"]), "northing": _deltas(table["northing"])}


def _deltas(values: pd.Series) -> list[int]:
    return np.diff(values.round().to_numpy(np.int64), prepend=0).tolist()
