"""Interactive maps planners can open anywhere: light, escaped and self-contained.

``make_map`` builds a ``folium.Map`` (inline in Jupyter, self-contained); ``write_map``
saves it with every script and stylesheet inlined (unless ``offline=False``: CDN links), so
the page needs no network but for basemap tiles (``tiles="none"``: no request at all).

Reading: absolute measures (the gap score, percentages) have fixed classes, relative ones
(counts, rates) mapclassify's, labelled without overlaps; the legend names the measure, its
category and threshold and which way is worse, and shows while its layer does; suppressed
areas are hatched. Boundary layers have their own names, colours and weights
(:data:`LAYER_NAMES`) and show area names when zoomed in; the search finds assets, areas
and postcodes; popups show the register's own columns.

Safety: asset names are typed by the public. They reach the page only as JSON inside
``<script>`` (Jinja's ``tojson`` escapes ``<``, ``>``, ``&`` and ``'``), and the browser
puts them into the page with ``textContent``, never ``innerHTML``; so do the legend, the
area names and the search entries. Text that Leaflet or folium insert as HTML (layer names,
tooltips, title, attribution) is HTML-escaped here first. No text is ever Jinja *source*:
branca renders each element's macros and then parses that output as a template again
(``Element(text)``), which would evaluate ``{{ ... }}`` typed in a name; a map renders with
that second pass switched off (``_verbatim_elements``).
"""

from __future__ import annotations

import hashlib
import html
import math
import re
import threading
import warnings
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import ClassVar

import branca.element
import folium
import folium.features
import folium.map
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import shapely
from branca.colormap import linear
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import Fullscreen, MarkerCluster, MeasureControl, MiniMap, Search
from folium.template import Template

from .errors import AssetmapError
from .gaps import SUPPRESSED
from .locate import ASSET_COLUMNS
from .outputs import atomic_path
from .registers import filled_text
from .settings import SCHEMES, WEB_CRS, resource_dir
from .taxonomy import Taxonomy, load_taxonomy

#: Tile presets; anything else with ``{z}`` in it is taken as a tile URL template.
TILES = {"openstreetmap": "OpenStreetMap", "cartodb": "CartoDB positron"}
_SIMPLIFY_M = 25.0  # coverage-aware simplification tolerance for boundary layers (metres)
_DECIMALS = 5  # about a metre in latitude/longitude
_ACRONYMS = {"oa", "lsoa", "msoa", "lad", "pcn", "aan", "icb"}  # layer names shown in capitals
_OTHER = {"label": "Other", "colour": "#555555", "icon": "location-dot"}
#: Boundary layers by name: (name in the layer list, one area's name, line colour, weight).
LAYER_NAMES = {
    "ward": ("Wards", "Ward", "#4d4d4d", 1.5),
    "constituency": ("Constituencies", "Constituency", "#6a3d9a", 3.0),
    "lsoa": ("LSOAs (small areas)", "LSOA", "#969696", 0.6),
    "msoa": ("MSOAs (middle-sized areas)", "MSOA", "#737373", 1.0),
    "oa": ("Output areas", "Output area", "#bdbdbd", 0.4),
    "lad": ("Local authorities", "Local authority", "#000000", 3.0),
    "pcn": ("Primary care networks", "Primary care network", "#1b9e77", 2.5),
    "cluster": ("Clusters", "Cluster", "#d95f02", 2.5),
    "aan": ("Area Advisory Networks", "Area Advisory Network", "#e7298a", 3.0),
    "icb": ("Integrated care boards", "Integrated care board", "#000000", 3.5),
}
_LINE_COLOURS = ["#1f78b4", "#33a02c", "#b15928", "#a6761d"]  # layers not in LAYER_NAMES
_SHARE = (0, 20, 40, 60, 80, 100)  # fixed classes of every 0-100 measure


@dataclass(frozen=True)
class Measure:
    """How a measure reads: its name, which way is worse and, for an absolute measure,
    fixed class edges (and names); relative measures get mapclassify's classes."""

    label: str
    worse: str | None = None  # "higher" or "lower"
    edges: tuple[float, ...] = ()
    names: tuple[str, ...] = ()
    unit: str = ""


#: Gap table columns (see :mod:`assetmap.gaps`) in words.
MEASURES = {
    "gap_score": Measure("Gap score (0-100, higher = bigger gap)", "higher", _SHARE,
                         ("low need", "some need", "moderate", "high", "highest")),
    "coverage_residents_pct": Measure("Residents within reach (%)", "lower", _SHARE, unit="%"),
    "coverage_children_pct": Measure("Children within reach (%)", "lower", _SHARE, unit="%"),
    "decile1_pct": Measure("Residents in England's most deprived 10% of areas (%)", "higher",
                           _SHARE, unit="%"),
    "decile1_2_pct": Measure("Residents in England's most deprived 20% of areas (%)",
                             "higher", _SHARE, unit="%"),
    "assets": Measure("Assets in the area", "lower"),
    "total": Measure("Assets in the area (all categories)", "lower"),
    "assets_per_10k_residents": Measure("Assets per 10,000 residents", "lower"),
    "assets_per_10k_children": Measure("Assets per 10,000 children", "lower"),
    "distance_median_m": Measure("Median distance to the nearest asset (m)", "higher"),
    "distance_p90_m": Measure("Distance to the nearest asset, 90th percentile (m)", "higher"),
    "imd_rank_mean": Measure("Mean IMD rank (1 = most deprived in England)", "lower"),
    "unmet_need": Measure("People beyond reach in deprived areas", "higher"),
    "places_per_1000": Measure("Places within reach per 1,000 people", "lower"),
    "rank": Measure("Gap rank (1 = biggest gap)", "lower"),
    "coverage_residents_pct_change": Measure("Change in residents within reach "
                                             "(percentage points; darker = more)"),
    "coverage_children_pct_change": Measure("Change in children within reach "
                                            "(percentage points; darker = more)"),
    "population": Measure("Residents"),
    "children": Measure("Children"),
}
#: Map fill of an area whose value is suppressed (an SVG pattern the page defines) or missing.
_HATCH, _NO_DATA = "url(#assetmap-hatch)", "#d9d9d9"
_LABEL_PX = 100  # area names show from the zoom where the median area is this wide


def make_map(
    layers: Mapping[str, gpd.GeoDataFrame],
    assets: gpd.GeoDataFrame | None = None,
    *,
    taxonomy: Taxonomy | None = None,
    measure: tuple[str, str] | None = None,
    scheme: str = "quantiles",
    classes: int = 5,
    coverage: tuple[str, float] | None = None,
    tiles: str = "openstreetmap",
    title: str = "",
    attribution: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    category: str | None = None,
) -> folium.Map:
    """A planner's map of boundary layers, assets and one measure.

    Parameters
    ----------
    layers
        Boundary layers (``code``, ``name``, geometry, any measure columns) by name; the
        first is the study area and is shown on opening, the others can be switched on.
        Each is drawn in its own colour and weight, its areas named at the zooms where the
        names fit.
    assets
        Located (and joined) assets: one toggleable, clustered layer per ``category``; the
        popups show the register's own columns too.
    measure
        ``(layer, column)``: a choropleth of that column with a legend (:data:`MEASURES`
        names gap table columns). Missing values show as "no data"; :data:`SUPPRESSED`
        cells (disclosure control) are hatched.
    scheme, classes
        Class breaks of a relative measure (counts, rates): ``quantiles``,
        ``natural_breaks`` or ``equal_interval``, into ``classes`` classes. Absolute
        measures (the gap score, percentages) have fixed classes.
    coverage
        ``(category, metres)``: the area within that distance of the category's assets.
    tiles
        ``openstreetmap``, ``cartodb``, ``none``, or a tile URL template (``.../{z}/{x}/{y}.png``).
    title, attribution
        Shown on the map (the data's attribution notices, e.g. OGL / Ordnance Survey).
    labels
        Display names of layers (default: :data:`LAYER_NAMES`, else the layer names).
    category
        The category the measure is about, for the legend (default: the layer's
        ``category`` column when it holds one).
    """
    if not layers:
        raise AssetmapError("a map needs at least one boundary layer")
    if measure is not None and measure[0] not in layers:
        raise AssetmapError(f"no layer {measure[0]!r} to shade; layers are "
                            f"{', '.join(layers)}")
    if coverage is not None and not 0 < coverage[1] < math.inf:
        raise AssetmapError(f"coverage distance must be a number of metres above 0, not "
                            f"{coverage[1]}")
    taxonomy = taxonomy or load_taxonomy()
    labels = {**{name: layer_style(name)[0] for name in layers}, **(labels or {})}
    web = {name: web_layer(layer) for name, layer in layers.items()}
    first = next(iter(web.values()))
    west, south, east, north = first.total_bounds
    fmap = _Map(location=[(south + north) / 2, (west + east) / 2], tiles=None,
                control_scale=True, zoom_start=11, maxZoom=19)
    fmap.get_root().header.add_child(_Verbatim(_PAGE_SCRIPT), name="assetmap_script")
    _add_tiles(fmap, tiles)
    _outline(layers).add_to(fmap)
    categories = [*taxonomy.labels(), *(() if assets is None else assets["category"].dropna())]
    areas = []
    for index, (name, layer) in enumerate(web.items()):
        shading = None if measure is None or measure[0] != name else _shading(
            layer, name, measure[1], scheme=scheme, classes=classes, category=category,
            categories=set(categories), label=labels[name])
        boundary = _boundary_layer(layer, name, labels[name], shading=shading,
                                   show=index == 0 and measure is None)
        boundary.add_to(fmap)
        if shading is not None:
            _Legend(boundary, shading.legend).add_to(fmap)
        areas.append(_AreaNames(boundary, layer, layer_style(name)[1]))
        areas[-1].add_to(fmap)
    if coverage is not None:
        _coverage_layer(assets, *coverage).add_to(fmap)
    groups = _asset_layers(assets, taxonomy, list(layers)) if assets is not None else []
    for group in groups:
        group.add_to(fmap)
    _Search(groups, areas, _postcodes(assets)).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    Fullscreen().add_to(fmap)
    MeasureControl(primary_length_unit="meters", secondary_length_unit="kilometers",
                   primary_area_unit="hectares").add_to(fmap)
    if tiles.lower() in TILES:
        MiniMap(tile_layer=TILES[tiles.lower()], toggle_display=True).add_to(fmap)
    _TextBoxes(title, attribution).add_to(fmap)
    fmap.fit_bounds([[south, west], [north, east]])
    return fmap


def write_map(fmap: folium.Map, path: str | Path, *, offline: bool = True) -> Path:
    """Save the map as one HTML file, every script and stylesheet inlined (``offline``) or
    linked from CDNs (``offline=False``: a smaller file, blank without network)."""
    page = map_page(fmap, offline=offline)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        temp.write_text(page, encoding="utf-8")
    return path


def map_page(fmap: folium.Map, *, offline: bool = True) -> str:
    """The map as the HTML page :func:`write_map` writes."""
    page = fmap.get_root().render()
    return inline_resources(page) if offline else page


def web_layer(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A layer made light for the web: coverage-aware simplification (no slivers open
    between neighbours), WGS84, coordinates rounded to about a metre.

    Vertices are first snapped to a 1 cm grid: published boundaries often miss their
    neighbours by a hair, and coverage simplification needs them to meet exactly.
    """
    snapped = shapely.set_precision(np.asarray(layer.geometry.array), 0.01)
    geometry = shapely.coverage_simplify(snapped, _SIMPLIFY_M)
    web = gpd.GeoDataFrame(layer.drop(columns=layer.geometry.name), geometry=geometry,
                           crs=layer.crs).to_crs(WEB_CRS)
    web["geometry"] = shapely.transform(web.geometry.array,
                                        lambda xy: np.round(xy, _DECIMALS))
    return web


def inline_resources(page: str) -> str:
    """Replace every remote script and stylesheet of a folium page by its inlined text.

    The texts come from the ``folium-offline`` package (folium 0.20's resources).
    """
    from offlinefolium.elements import _res as resources

    def text(url: str) -> str:
        if url not in resources:
            raise AssetmapError(f"no offline copy of {url}; install folium-offline")
        return resources[url]

    def script(match: re.Match) -> str:
        return "<script>" + text(match[1]).replace("</script", "<\\/script") + "</script>"

    def style(match: re.Match) -> str:
        css = re.sub(r"url\((?!['\"]?(?:data:|#))[^)]*\)", "url(data:,)", text(match[1]))
        return "<style>" + css.replace("</style", "<\\/style") + "</style>"

    page = re.sub(r'<script src="(https?://[^"]+)"></script>', script, page)
    return re.sub(r'<link rel="stylesheet" href="(https?://[^"]+)"/>', style, page)


class _Map(folium.Map):
    """A folium map loading only Leaflet (no Bootstrap, jQuery or icon fonts: unused),
    rendered with no second template pass, on a page whose ids are stable (:class:`_Page`),
    and self-contained inline in Jupyter."""

    default_js: ClassVar = [folium.Map.default_js[0]]
    default_css: ClassVar = [folium.Map.default_css[0]]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        _Page().add_child(self)  # in place of folium's plain Figure

    def render(self, **kwargs) -> None:
        with _verbatim_elements():
            super().render(**kwargs)

    def _repr_html_(self, **kwargs) -> str:
        """The page, every script inlined, in an iframe (as folium's, which links CDNs)."""
        page = html.escape(inline_resources(self.get_root().render(**kwargs)))
        return ('<div style="width:100%;"><div style="position:relative;width:100%;height:0;'
                'padding-bottom:60%;"><iframe srcdoc="' + page + '" style="position:absolute;'
                'width:100%;height:100%;left:0;top:0;border:none !important;" '
                'allowfullscreen></iframe></div></div>')


class _Page(Figure):
    """A map's page, the same text for the same map: branca names every element by a
    random id (``urandom``), which the page's text replaces by ``<digest>_<n>``, ``n``
    numbering the ids in order of appearance and ``digest`` hashing the page so numbered.
    Ids then differ between different maps (two in one document never clash) and never
    between renders of the same one. Rendering leaves the page's parts as they were: folium
    would add each layer's ``addTo`` to the script again on every render."""

    def render(self, **kwargs) -> str:
        parts = (self.header, self.html, self.script)
        built = [part._children.copy() for part in parts]
        try:
            return _stable_ids(super().render(**kwargs), _element_ids(self))
        finally:
            for part, children in zip(parts, built, strict=True):
                part._children = children


#: An element id as branca makes them: 16 random bytes in hex.
_ELEMENT_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def _element_ids(root: Element) -> set[str]:
    """The ids of the elements under ``root``: its children's, and those of elements held
    as attributes (a figure's header, a minimap's tile layer), at any depth."""
    ids, seen, todo = set(), set(), [root]
    while todo:
        element = todo.pop()
        if id(element) not in seen:
            seen.add(id(element))
            ids.add(element._id)
            todo += [v for v in vars(element).values() if isinstance(v, Element)]
            todo += element._children.values()
    return ids


def _stable_ids(page: str, ids: set[str]) -> str:
    """``page`` with each of ``ids`` replaced as :class:`_Page` says (other hex, such as
    an asset's ID, is left alone)."""
    order: dict[str, str] = {}

    def number(match: re.Match) -> str:
        found = match[0]
        return order.setdefault(found, str(len(order))) if found in ids else found

    digest = hashlib.sha256(_ELEMENT_ID.sub(number, page).encode()).hexdigest()[:12]
    return _ELEMENT_ID.sub(lambda m: f"{digest}_{order[m[0]]}" if m[0] in order else m[0],
                           page)


class _Verbatim(Element):
    """Rendered text kept as it is: branca's ``Element(text)`` would parse it as Jinja."""

    def __init__(self, template: str | None = None, template_name: str | None = None):
        super().__init__(template_name=template_name)
        self._text = template

    def render(self, **kwargs) -> str:
        return super().render(**kwargs) if self._text is None else self._text


#: The modules whose ``render`` methods wrap rendered text in ``Element(text)``.
_WRAPPING_MODULES = (branca.element, folium.map, folium.features)
_RENDERING = threading.RLock()


@contextmanager
def _verbatim_elements() -> Iterator[None]:
    """While a map renders, those modules make ``_Verbatim`` elements where they would make
    an ``Element`` (restored afterwards; one render at a time)."""
    with _RENDERING:
        saved = [module.Element for module in _WRAPPING_MODULES]
        for module in _WRAPPING_MODULES:
            module.Element = _Verbatim
        try:
            yield
        finally:
            for module, element in zip(_WRAPPING_MODULES, saved, strict=True):
                module.Element = element


def _escape(text) -> str:
    return html.escape(str(text), quote=True)


def _add_tiles(fmap: folium.Map, tiles: str) -> None:
    key = tiles.lower()
    if key == "none":
        return
    if key in TILES:
        folium.TileLayer(TILES[key], name=TILES[key]).add_to(fmap)
        return
    if "{z}" not in tiles or not re.match(r"^https?://", tiles):
        raise AssetmapError(f"tiles must be openstreetmap, cartodb, none or a URL template "
                            f"with {{z}}/{{x}}/{{y}}, not {tiles!r}")
    folium.TileLayer(tiles, attr=_escape(f"Tiles: {tiles.split('/')[2]}"),
                     name="Basemap").add_to(fmap)


def _outline(layers: Mapping[str, gpd.GeoDataFrame]) -> folium.GeoJson:
    first = next(iter(layers.values()))
    outline = gpd.GeoSeries([shapely.union_all(first.geometry.array)], crs=first.crs)
    outline = outline.simplify(_SIMPLIFY_M).to_crs(WEB_CRS)
    return folium.GeoJson(outline.__geo_interface__, name="Study area", control=False,
                          style_function=lambda f: {"color": "#111111", "weight": 3,
                                                    "fill": False},
                          interactive=False)


def layer_style(name: str) -> tuple[str, str, str, float]:
    """A layer's name in the layer list, one area's name, line colour and weight."""
    if name in LAYER_NAMES:
        return LAYER_NAMES[name]
    text = name.upper() if name.lower() in _ACRONYMS else name.replace("_", " ").capitalize()
    return text, text, _LINE_COLOURS[zlib.crc32(name.encode()) % len(_LINE_COLOURS)], 2.0


def _boundary_layer(layer: gpd.GeoDataFrame, name: str, label: str, *, show: bool,
                    shading: _Shading | None) -> folium.GeoJson:
    """A boundary layer in its own colour and weight, names and codes in tooltips; with
    ``shading``, filled by class (hatched where suppressed), the value in the tooltip."""
    _, _, colour, weight = layer_style(name)
    style = {"color": colour, "weight": weight, "fillOpacity": 0.0}
    shown = layer[["code", "name", "geometry"]].copy()
    shown["code"] = shown["code"].map(_escape)
    shown["name"] = shown["name"].map(_escape)
    fields, aliases = ["name", "code"], ["Name", "Code"]
    fill = {}
    if shading is not None:
        shown["value"] = shading.text.map(_escape).to_numpy()
        fields, aliases = [*fields, "value"], [*aliases, _escape(shading.legend["title"])]
        fill = dict(zip(shown.index.astype(str), shading.fill, strict=True))
    return folium.GeoJson(
        shown.__geo_interface__, name=_escape(label), show=show or shading is not None,
        style_function=(lambda f: {**style, "fillColor": fill[str(f["id"])],
                                   "fillOpacity": 0.7}) if fill else (lambda f: style),
        highlight_function=lambda f: {"weight": weight + 2, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True),
        smooth_factor=0.5)


@dataclass(frozen=True)
class _Shading:
    """A shaded measure: fill and tooltip text per area, and the legend's content."""

    fill: np.ndarray
    text: pd.Series
    legend: dict


def _shading(layer: gpd.GeoDataFrame, name: str, column: str, *, scheme: str, classes: int,
             category: str | None, categories: Sequence[str], label: str) -> _Shading:
    """Classes of a measure column: fixed for absolute measures (:data:`MEASURES`),
    mapclassify's for others; darker is worse; suppressed cells hatched, missing grey."""
    if column not in layer:
        shown = layer.drop(columns=layer.geometry.name)
        valid = [str(c) for c in shown if pd.to_numeric(shown[c], errors="coerce").notna().any()]
        raise AssetmapError(f"layer {name!r} has no column {column!r} to shade; it has "
                            f"{', '.join(valid)}")
    suppressed = layer[column].astype(str).eq(SUPPRESSED).to_numpy()
    values = pd.to_numeric(layer[column], errors="coerce")
    if values.isna().all():
        raise AssetmapError(f"column {column!r} of layer {name!r} has no values to shade "
                            "(missing in every area)")
    if column in categories:
        spec, category = Measure(f"{column}: assets in the area", "lower"), category or column
    else:
        spec = MEASURES.get(column, Measure(str(column)))
    edges, texts, decimals = class_edges(values, spec, scheme, classes)
    colours = class_colours(spec, len(texts))
    fill = np.asarray(colours, dtype=object)[_class_of(values.fillna(0).to_numpy(), edges)]
    fill = np.where(suppressed, _HATCH, np.where(values.isna(), _NO_DATA, fill))
    text = values.map(lambda v: f"{v:,.{decimals}f}{spec.unit}").where(values.notna(),
                                                                         "no data")
    text = text.mask(suppressed, "suppressed (small numbers)")
    if category is None and "category" in layer and layer["category"].nunique() == 1:
        category = str(layer["category"].dropna().iloc[0])
    notes = [f"Areas: {label}"]
    if category:
        notes.append(f"Category: {category}")
    threshold = pd.to_numeric(layer.get("threshold_m", pd.Series()), errors="coerce")
    if threshold.nunique() == 1:
        notes.append(f"Within reach: {threshold.dropna().iloc[0]:,.0f} m")
    if spec.worse:
        notes.append(f"Darker = worse ({spec.worse} values)")
    notes.append("Fixed classes" if spec.edges else f"Classes: {scheme.replace('_', ' ')}")
    rows = [{"colour": colour, "label": text_} for colour, text_ in zip(colours, texts,
                                                                          strict=True)]
    if spec.worse == "higher":
        rows.reverse()  # the worst on top
    if suppressed.any():
        rows.append({"hatch": True, "label": "Suppressed (small numbers)"})
    if (values.isna() & ~suppressed).any():
        rows.append({"colour": _NO_DATA, "label": "No data"})
    return _Shading(fill, text, {"title": spec.label, "notes": notes, "rows": rows})


def class_colours(spec: Measure, count: int) -> list[str]:
    """A colour per class: yellow to red, darker where worse (blues for a measure with no
    worse way)."""
    palette = (linear.Blues_09 if spec.worse is None else linear.YlOrRd_09).scale(0, 1)
    steps = np.linspace(0, 1, count) if count > 1 else np.zeros(1)
    return [palette(1 - step if spec.worse == "lower" else step) for step in steps]


def class_edges(values: pd.Series | None, spec: Measure, scheme: str, classes: int
                ) -> tuple[np.ndarray, list[str], int]:
    """Class edges (class ``i`` holds ``edges[i] <= v < edges[i + 1]``, the last one its
    upper edge too), a label per class, and the decimals values are shown with.

    Absolute measures have their fixed edges (``values`` may be None). Others get
    mapclassify's breaks, rounded
    (whole numbers: each class a range of them, "1–5"); classes left empty by ties or
    rounding are merged into the one below, and a constant is one class.
    """
    if spec.edges:
        edges, last = np.asarray(spec.edges, float), len(spec.edges) - 2
        names = [f" ({name})" for name in spec.names] or [""] * (last + 1)
        return edges, [f"{low:g} to {'' if i == last else 'under '}{high:g}{spec.unit}"
                       f"{names[i]}" for i, (low, high) in enumerate(pairwise(spec.edges))], 1
    if scheme not in SCHEMES:
        raise AssetmapError(f"unknown scheme {scheme!r}; schemes are {', '.join(SCHEMES)}")
    present = values.dropna().to_numpy(float)
    low, high = present.min(), present.max()
    whole = bool(np.all(present == np.round(present)))
    spread = high - low
    decimals = 0 if whole or spread == 0 else int(np.clip(1 - np.floor(np.log10(spread)),
                                                          0, 6))
    if spread == 0:  # mapclassify's EqualInterval raises on a constant
        return np.array([low, high]), [f"{low:,.{decimals}f}{spec.unit}"], decimals
    with warnings.catch_warnings():  # ties leave fewer classes: merged below
        warnings.simplefilter("ignore", UserWarning)
        bins = getattr(mapclassify, SCHEMES[scheme])(
            present, k=max(1, min(classes, len(np.unique(present))))).bins[:-1]
    scale = 10.0 ** decimals
    if whole:
        inner = np.floor(bins) + 1  # mapclassify's bins are inclusive upper bounds
    else:
        inner = np.round(bins, decimals)
        low, high = np.floor(low * scale) / scale, np.ceil(high * scale) / scale
    edges = np.unique(np.concatenate([[low], inner[(inner > low) & (inner <= high)], [high]]))
    held = np.bincount(_class_of(present, edges), minlength=len(edges) - 1) > 0
    edges = np.concatenate([edges[:-1][held], edges[-1:]])

    def number(value: float) -> str:
        return f"{value:,.{decimals}f}{spec.unit}"

    texts = []
    for i, (start, end) in enumerate(pairwise(edges)):
        last = i == len(edges) - 2
        top = end if last or not whole else end - 1
        if top == start:
            texts.append(number(start))
        elif whole:
            texts.append(f"{number(start)}–{number(top)}")
        else:
            texts.append(f"{number(start)} to {'' if last else 'under '}{number(end)}")
    return edges, texts, decimals


def _class_of(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The class of each value (see :func:`class_edges`); values beyond the ends in the end ones."""
    return np.searchsorted(edges[1:-1], values, side="right")


def _coverage_layer(assets: gpd.GeoDataFrame | None, category: str,
                    metres: float) -> folium.GeoJson:
    if assets is None or category not in set(assets["category"].dropna()):
        raise AssetmapError(f"no assets of category {category!r} to draw coverage around")
    points = assets.loc[assets["category"] == category].geometry
    area = gpd.GeoSeries([shapely.union_all(points.buffer(metres).array)], crs=assets.crs)
    area = area.simplify(5).to_crs(WEB_CRS)
    label = _escape(f"{category}: within {metres:,.0f} m")
    return folium.GeoJson(area.__geo_interface__, name=label, interactive=False,
                          style_function=lambda f: {"color": "#2b8cbe", "weight": 1,
                                                    "fillColor": "#2b8cbe",
                                                    "fillOpacity": 0.15})


def _asset_layers(assets: gpd.GeoDataFrame, taxonomy: Taxonomy,
                  layer_names: Sequence[str]) -> list[_AssetLayer]:
    """One layer per category present: the taxonomy's in its order, then any others (styled
    as "Other"), then the uncategorised as "Other". Every asset is in one."""
    lat, lon = _lat_lon(assets)
    names = filled_text(assets["name"])
    names = names.mask(names == "", "(no name)").to_numpy()
    detail_labels, always, details = _details(assets, layer_names)
    category = filled_text(assets["category"], _OTHER["label"])
    positions = category.groupby(category.to_numpy()).indices
    others = sorted(set(positions) - {*taxonomy.labels(), _OTHER["label"]})
    styles = taxonomy.categories.set_index("label")
    layers = []
    for label in dict.fromkeys([*taxonomy.labels(), *others, _OTHER["label"]]):
        if label not in positions:
            continue
        chosen = positions[label]
        values = details[chosen]
        shown = always | (values != "").any(axis=0)  # the register columns this one fills
        style = styles.loc[label] if label in styles.index else pd.Series(_OTHER)
        columns = {"lat": lat[chosen].tolist(), "lon": lon[chosen].tolist(),
                   "name": names[chosen].tolist(),
                   "labels": [text for text, keep in zip(detail_labels, shown, strict=True)
                              if keep],
                   "values": values[:, shown].T.tolist()}
        layers.append(_AssetLayer(columns, _icon(style["colour"], style["icon"]),
                                  name=_escape(f"{label} ({len(chosen):,})")))
    return layers


def _lat_lon(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """Latitudes and longitudes of points, rounded to about a metre."""
    web = frame.geometry.to_crs(WEB_CRS)
    return web.y.round(_DECIMALS).to_numpy(), web.x.round(_DECIMALS).to_numpy()


def _details(assets: pd.DataFrame, layer_names: Sequence[str]
             ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The labels of an asset's popup rows, which of them every popup table lists, and per
    asset its values as text ("" if none): the roles, the register's own other columns
    (opening times, contact, ...), the areas and the register's name."""
    roles = {"category": "Category", "type": "Type", "id": "ID", "postcode": "Postcode"}
    areas = {f"{name}_name": layer_style(name)[1] for name in layer_names
             if f"{name}_name" in assets}
    joined = {f"{name}_{part}" for name in layer_names for part in ("code", "name", "match")}
    own = [c for c in assets.columns
           if c not in {*ASSET_COLUMNS, *joined, assets.geometry.name}]
    columns = [*roles, *own, *areas, "source"]
    always = np.isin(columns, [*roles, *areas, "source"])
    return ([*roles.values(), *map(str, own), *areas.values(), "Register"], always,
            assets[columns].astype(object).fillna("").astype(str).to_numpy())


def _postcodes(assets: gpd.GeoDataFrame | None) -> dict | None:
    """The assets' postcodes for the search: each at its first asset, with its count."""
    if assets is None:
        return None
    postcode = filled_text(assets["postcode"]).str.strip()
    first = assets[postcode != ""].assign(postcode=postcode).drop_duplicates("postcode")
    if first.empty:
        return None
    lat, lon = _lat_lon(first)
    counts = postcode.value_counts()
    return {"postcode": first["postcode"].tolist(), "lat": lat.tolist(), "lon": lon.tolist(),
            "count": counts[first["postcode"]].tolist()}


def _icon(colour: str, icon: str) -> dict:
    """Leaflet ``divIcon`` options: a round badge in the category colour with its SVG."""
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", str(colour)):
        raise AssetmapError(f"category colour must look like #1f77b4, not {colour!r}")
    svg_file = resource_dir("assets") / "icons" / f"{icon}.svg"
    if not re.fullmatch(r"[a-z0-9-]+", str(icon)) or not svg_file.exists():
        svg_file = resource_dir("assets") / "icons" / f"{_OTHER['icon']}.svg"
    svg = re.sub(r"<!--.*?-->", "", svg_file.read_text(encoding="utf-8"))
    svg = svg.replace("<svg ", '<svg width="14" height="14" fill="#ffffff" ', 1)
    badge = (f'<div style="background:{colour};width:24px;height:24px;border-radius:50%;'
             'border:2px solid #fff;box-shadow:0 0 3px #333;display:flex;'
             f'align-items:center;justify-content:center">{svg}</div>')
    return {"html": badge, "className": "assetmap-icon", "iconSize": [28, 28],
            "iconAnchor": [14, 14], "popupAnchor": [0, -12]}


class _AssetLayer(MarkerCluster):
    """One category's assets: a clustered layer built in the browser from JSON columns
    (``lat``, ``lon``, ``name``; popup ``labels`` and, per label, ``values``)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.markerClusterGroup(
                {{ this.options|tojavascript }});
            assetmapAddMarkers({{ this.get_name() }}, {{ this.columns|tojson }},
                               {{ this.icon|tojson }});
        {% endmacro %}
    """)

    def __init__(self, columns: dict, icon: dict, name: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True,
                         options={"maxClusterRadius": 40, "showCoverageOnHover": False})
        self.columns, self.icon = columns, icon


class _AreaNames(MacroElement):
    """A boundary layer's area names, shown at its areas (representative points) when the
    layer is on and the zoom lets them fit, and offered to the search."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = assetmapAreaNames({{ this._parent.get_name() }},
                {{ this.layer_name }}, {{ this.areas|tojson }});
        {% endmacro %}
    """)

    def __init__(self, boundary: folium.GeoJson, layer: gpd.GeoDataFrame, kind: str) -> None:
        super().__init__()
        self.layer_name = boundary.get_name()
        point = shapely.point_on_surface(layer.geometry.array)
        bounds = np.round(shapely.bounds(layer.geometry.array), _DECIMALS)
        widths = bounds[:, 2] - bounds[:, 0]  # degrees of longitude
        zoom = np.log2(_LABEL_PX * 360 / (256 * max(float(np.median(widths)), 1e-6)))
        self.areas = {"kind": str(kind), "minZoom": int(np.clip(np.ceil(zoom), 0, 19)),
                      "name": filled_text(layer["name"]).tolist(),
                      "code": filled_text(layer["code"]).tolist(),
                      "lat": np.round(shapely.get_y(point), _DECIMALS).tolist(),
                      "lon": np.round(shapely.get_x(point), _DECIMALS).tolist(),
                      "bounds": bounds[:, [1, 0, 3, 2]].tolist()}


class _Search(JSCSSMixin, MacroElement):
    """Search assets by name, areas by name or code, and the assets' postcodes; goes to
    the asset (its popup), the area (switching its layer on) or the postcode."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            assetmapSearch({{ this._parent.get_name() }},
                [{{ this.group_names|join(", ") }}], [{{ this.area_names|join(", ") }}],
                {{ this.postcodes|tojson }});
        {% endmacro %}
    """)
    default_js = Search.default_js
    default_css = Search.default_css

    def __init__(self, groups: list[_AssetLayer], areas: list[_AreaNames],
                 postcodes: dict | None) -> None:
        super().__init__()
        self.group_names = [group.get_name() for group in groups]
        self.area_names = [area.get_name() for area in areas]
        self.postcodes = postcodes


class _Legend(MacroElement):
    """The shaded layer's legend (a Leaflet control, built from JSON with ``textContent``),
    shown while that layer is."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            assetmapLegend({{ this._parent.get_name() }}, {{ this.layer_name }},
                           {{ this.spec|tojson }});
        {% endmacro %}
    """)

    def __init__(self, boundary: folium.GeoJson, spec: dict) -> None:
        super().__init__()
        self.layer_name, self.spec = boundary.get_name(), spec


#: Functions and styles every map's own script uses (no data in it: data comes as JSON).
_PAGE_SCRIPT = """<script>
function assetmapText(tag, text, parent) {
    var node = document.createElement(tag);
    node.textContent = text;
    if (parent) { parent.appendChild(node); }
    return node;
}
function assetmapPopup(columns, i) {
    var box = document.createElement("div");
    box.className = "assetmap-popup";
    assetmapText("b", columns.name[i], box);
    var table = document.createElement("table");
    columns.labels.forEach(function (label, j) {
        var value = columns.values[j][i];
        if (!value) { return; }
        var row = table.insertRow();
        var key = row.insertCell();
        key.textContent = label;
        key.className = "assetmap-key";
        row.insertCell().textContent = value;
    });
    box.appendChild(table);
    return box;
}
function assetmapAddMarkers(group, columns, iconOptions) {
    var icon = L.divIcon(iconOptions);
    columns.name.forEach(function (name, i) {
        var marker = L.marker([columns.lat[i], columns.lon[i]],
                              {icon: icon, title: name, alt: name});
        marker.bindPopup(function () { return assetmapPopup(columns, i); });
        group.addLayer(marker);
    });
}
function assetmapHatch() {
    if (document.getElementById("assetmap-hatch")) { return; }
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", "0");
    svg.setAttribute("height", "0");
    svg.style.position = "absolute";
    var pattern = document.createElementNS(ns, "pattern");
    pattern.id = "assetmap-hatch";
    [["patternUnits", "userSpaceOnUse"], ["width", "8"], ["height", "8"],
     ["patternTransform", "rotate(45)"]].forEach(function (a) {
        pattern.setAttribute(a[0], a[1]);
    });
    var back = document.createElementNS(ns, "rect");
    [["width", "8"], ["height", "8"], ["fill", "#f4f4f4"]].forEach(function (a) {
        back.setAttribute(a[0], a[1]);
    });
    var line = document.createElementNS(ns, "rect");
    [["width", "2"], ["height", "8"], ["fill", "#8c8c8c"]].forEach(function (a) {
        line.setAttribute(a[0], a[1]);
    });
    pattern.appendChild(back);
    pattern.appendChild(line);
    svg.appendChild(pattern);
    document.body.appendChild(svg);
}
function assetmapLegend(map, layer, spec) {
    assetmapHatch();
    var legend = L.control({position: "bottomright"});
    legend.onAdd = function () {
        var box = L.DomUtil.create("div", "assetmap-legend");
        assetmapText("b", spec.title, box);
        spec.notes.forEach(function (note) {
            assetmapText("div", note, box).className = "assetmap-note";
        });
        spec.rows.forEach(function (row) {
            var line = L.DomUtil.create("div", "assetmap-row", box);
            var swatch = L.DomUtil.create("span", "assetmap-swatch", line);
            if (row.hatch) { swatch.className += " assetmap-hatched"; }
            else { swatch.style.background = row.colour; }
            assetmapText("span", row.label, line);
        });
        L.DomEvent.disableClickPropagation(box);
        return box;
    };
    if (map.hasLayer(layer)) { legend.addTo(map); }
    map.on("overlayadd", function (e) { if (e.layer === layer) { legend.addTo(map); } });
    map.on("overlayremove", function (e) { if (e.layer === layer) { legend.remove(); } });
}
function assetmapAreaNames(map, layer, areas) {
    if (!map.getPane("assetmapLabels")) {
        map.createPane("assetmapLabels").style.zIndex = 450;
    }
    var names = L.layerGroup();
    areas.name.forEach(function (name, i) {
        var icon = L.divIcon({className: "assetmap-label", iconSize: null,
                              html: assetmapText("span", name)});
        names.addLayer(L.marker([areas.lat[i], areas.lon[i]], {
            icon: icon, interactive: false, keyboard: false, pane: "assetmapLabels"}));
    });
    function update() {
        var show = map.hasLayer(layer) && map.getZoom() >= areas.minZoom;
        if (show !== map.hasLayer(names)) { show ? names.addTo(map) : names.remove(); }
    }
    map.on("zoomend overlayadd overlayremove", update);
    update();
    return {layer: layer, areas: areas};
}
function assetmapFound(map, latlng, heading, line) {
    var box = document.createElement("div");
    box.className = "assetmap-popup";
    assetmapText("b", heading, box);
    assetmapText("div", line, box);
    L.popup().setLatLng(latlng).setContent(box).openOn(map);
}
function assetmapSearch(map, groups, areaSets, postcodes) {
    var records = null;
    function place(title, lat, lon, target) {
        var at = L.latLng(lat, lon);
        at.layer = target;
        records[title] = at;
    }
    function index() {
        if (records) { return records; }
        records = {};
        groups.forEach(function (group) {
            group.eachLayer(function (marker) {
                var at = marker.getLatLng();
                at.layer = marker;
                records[marker.options.title] = at;
            });
        });
        areaSets.forEach(function (set) {
            var areas = set.areas;
            areas.name.forEach(function (name, i) {
                place(name + " · " + areas.kind + " " + areas.code[i], areas.lat[i],
                      areas.lon[i], {area: set, i: i});
            });
        });
        if (postcodes) {
            postcodes.postcode.forEach(function (postcode, i) {
                place(postcode + " · postcode", postcodes.lat[i], postcodes.lon[i],
                      {postcode: i});
            });
        }
        return records;
    }
    var search = new L.Control.Search({
        sourceData: function (text, done) { done(null); },
        formatData: index, propertyName: "title", initial: false, marker: false,
        zoom: 17, textPlaceholder: "Search assets, areas, postcodes",
        buildTip: function (text) {
            var tip = L.DomUtil.create("li", "");
            tip.textContent = text;
            return tip;
        }
    });
    search.on("search:locationfound", function (e) {
        var found = e.layer;
        if (found.area) {
            var areas = found.area.areas, b = areas.bounds[found.i];
            if (!map.hasLayer(found.area.layer)) { map.addLayer(found.area.layer); }
            map.fitBounds([[b[0], b[1]], [b[2], b[3]]]);
            assetmapFound(map, e.latlng, areas.name[found.i],
                          areas.kind + " · " + areas.code[found.i]);
        } else if (found.postcode !== undefined) {
            var n = postcodes.count[found.postcode];
            assetmapFound(map, e.latlng, postcodes.postcode[found.postcode],
                          "Postcode · " + n + (n === 1 ? " asset" : " assets"));
        } else {
            var group = groups.find(function (g) { return g.hasLayer(found); });
            if (group && map.hasLayer(group)) {
                group.zoomToShowLayer(found, function () { found.openPopup(); });
            }
        }
    });
    map.addControl(search);
}
</script>
<style>
.assetmap-icon { background: none; border: none; }
.assetmap-key { padding-right: 8px; color: #555; vertical-align: top; }
.assetmap-legend { background: #fff; padding: 6px 10px; border-radius: 4px;
    box-shadow: 0 0 4px #777; font: 12px sans-serif; max-width: 260px; }
.assetmap-note { color: #555; }
.assetmap-row { margin-top: 2px; }
.assetmap-swatch { display: inline-block; width: 16px; height: 11px; margin-right: 6px;
    vertical-align: middle; border: 1px solid #bbb; }
.assetmap-hatched { background: repeating-linear-gradient(45deg, #8c8c8c 0 2px,
    #f4f4f4 2px 6px); }
.assetmap-label span { display: block; transform: translate(-50%, -50%);
    white-space: nowrap; font: 600 11px sans-serif; color: #222;
    text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; }
.leaflet-control-layers-expanded { max-height: calc(100vh - 300px); overflow-y: auto;
    font-size: 12px; }
</style>"""


class _TextBoxes(MacroElement):
    """The map's title (top) and the data's attribution notices (bottom left)."""

    _template = Template("""
        {% macro html(this, kwargs) %}
        {% if this.title %}
        <div class="assetmap-title" style="position:absolute;top:10px;left:50%;
             transform:translateX(-50%);z-index:1000;background:#fff;padding:4px 12px;
             border-radius:4px;box-shadow:0 0 4px #777;font:bold 16px sans-serif">
          {{ this.title }}</div>
        {% endif %}
        {% if this.lines %}
        <div class="assetmap-attribution" style="position:absolute;bottom:48px;left:10px;
             z-index:1000;max-width:45%;background:rgba(255,255,255,0.85);padding:4px 8px;
             font:10px sans-serif;color:#333">
          {% for line in this.lines %}<div>{{ line }}</div>{% endfor %}</div>
        {% endif %}
        {% endmacro %}
    """)

    def __init__(self, title: str, lines: Sequence[str]) -> None:
        super().__init__()
        self.title = _escape(title)
        self.lines = [_escape(line) for line in lines]
