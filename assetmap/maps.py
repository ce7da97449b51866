"""Interactive maps planners can open anywhere: light, escaped and self-contained.

``make_map`` builds a ``folium.Map`` (inline in Jupyter, self-contained); ``write_map``
saves it with every script and stylesheet inlined (unless ``offline=False``: CDN links), so
the page needs no network but for basemap tiles (``tiles="none"``: no request at all).

Safety: asset names are typed by the public. They reach the page only as JSON inside
``<script>`` (Jinja's ``tojson`` escapes ``<``, ``>``, ``&`` and ``'``), and the browser
puts them into the page with ``textContent``, never ``innerHTML``. Text that Leaflet or
folium insert as HTML (layer names, tooltips, legend, title, attribution) is HTML-escaped
here first. No text is ever Jinja *source*: branca renders each element's macros and then
parses that output as a template again (``Element(text)``), which would evaluate
``{{ ... }}`` typed in a name; a map renders with that second pass switched off
(``_verbatim_elements``).
"""

from __future__ import annotations

import html
import re
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
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
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import Fullscreen, MarkerCluster, MeasureControl, MiniMap, Search
from folium.template import Template

from .errors import AssetmapError
from .outputs import atomic_path
from .settings import SCHEMES, WEB_CRS, resource_dir
from .taxonomy import Taxonomy, load_taxonomy

#: Tile presets; anything else with ``{z}`` in it is taken as a tile URL template.
TILES = {"openstreetmap": "OpenStreetMap", "cartodb": "CartoDB positron"}
_SIMPLIFY_M = 25.0  # coverage-aware simplification tolerance for boundary layers (metres)
_DECIMALS = 5  # about a metre in latitude/longitude
_ACRONYMS = {"oa", "lsoa", "msoa", "lad", "pcn", "aan", "icb"}  # layer names shown in capitals
_OTHER = {"label": "Other", "colour": "#555555", "icon": "location-dot"}
_LAYER_STYLE = {"color": "#3c3c3c", "weight": 1.2, "fillOpacity": 0.0}


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
) -> folium.Map:
    """A planner's map of boundary layers, assets and one measure.

    Parameters
    ----------
    layers
        Boundary layers (``code``, ``name``, geometry, any measure columns) by name; the
        first is the study area and is shown on opening, the others can be switched on.
    assets
        Located (and joined) assets: one toggleable, clustered layer per ``category``.
    measure
        ``(layer, column)``: a choropleth of that column with a legend.
    scheme, classes
        Class breaks for the choropleth: ``quantiles``, ``natural_breaks`` or
        ``equal_interval``, into ``classes`` classes.
    coverage
        ``(category, metres)``: the area within that distance of the category's assets.
    tiles
        ``openstreetmap``, ``cartodb``, ``none``, or a tile URL template (``.../{z}/{x}/{y}.png``).
    title, attribution
        Shown on the map (the data's attribution notices, e.g. OGL / Ordnance Survey).
    labels
        Display names of layers (default: the layer names).
    """
    if not layers:
        raise AssetmapError("a map needs at least one boundary layer")
    if measure is not None and measure[0] not in layers:
        raise AssetmapError(f"no layer {measure[0]!r} to shade; layers are "
                            f"{', '.join(layers)}")
    taxonomy = taxonomy or load_taxonomy()
    labels = {**{name: name for name in layers}, **(labels or {})}
    web = {name: web_layer(layer) for name, layer in layers.items()}
    first = next(iter(web.values()))
    west, south, east, north = first.total_bounds
    fmap = _Map(location=[(south + north) / 2, (west + east) / 2], tiles=None,
                control_scale=True, zoom_start=11, maxZoom=19)
    _add_tiles(fmap, tiles)
    _outline(layers).add_to(fmap)
    for index, (name, layer) in enumerate(web.items()):
        shaded = measure is not None and measure[0] == name
        _boundary_layer(layer, _escape(labels[name]), show=index == 0 and measure is None,
                        measure=measure if shaded else None, scheme=scheme,
                        classes=classes, fmap=fmap).add_to(fmap)
    if coverage is not None:
        _coverage_layer(assets, *coverage).add_to(fmap)
    groups = _asset_layers(assets, taxonomy, labels) if assets is not None else []
    for group in groups:
        group.add_to(fmap)
    if groups:
        _AssetSearch(groups).add_to(fmap)
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
    page = fmap.get_root().render()
    if offline:
        page = inline_resources(page)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        temp.write_text(page, encoding="utf-8")
    return path


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
    rendered with no second template pass, and self-contained inline in Jupyter."""

    default_js: ClassVar = [folium.Map.default_js[0]]
    default_css: ClassVar = [folium.Map.default_css[0]]

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


def _boundary_layer(layer: gpd.GeoDataFrame, label: str, *, show: bool,
                    measure: tuple[str, str] | None, scheme: str, classes: int,
                    fmap: folium.Map) -> folium.GeoJson:
    shown = layer[["code", "name", "geometry"]].copy()
    shown["code"] = shown["code"].map(_escape)
    shown["name"] = shown["name"].map(_escape)
    fields, aliases = ["name", "code"], ["Name", "Code"]
    style = _LAYER_STYLE
    colour_of = None
    if measure is not None:
        name, column = measure
        if column not in layer:
            valid = [str(c) for c in layer.select_dtypes("number").columns]
            raise AssetmapError(f"layer {name!r} has no column {column!r} to shade; it has "
                                f"{', '.join(valid)}")
        values = pd.to_numeric(layer[column], errors="coerce")
        if values.isna().all():
            raise AssetmapError(f"column {column!r} of layer {name!r} has no values to shade "
                                "(missing in every area)")
        breaks, colours = _classes(values, scheme, classes)
        shown["value"] = values.round(2).astype(object).where(values.notna(), "no data")
        shown["_fill"] = _colour_for(values, breaks, colours)
        fields, aliases = [*fields, "value"], [*aliases, _escape(column)]
        colour_of = dict(zip(shown.index.astype(str), shown["_fill"], strict=True))
        _Legend(_escape(column), breaks, colours, f"{scheme} · {label}").add_to(fmap)
        show = True
    geojson = folium.GeoJson(
        shown.drop(columns=[c for c in ["_fill"] if c in shown]).__geo_interface__,
        name=label, show=show,
        style_function=(lambda f: {**style, "fillColor": colour_of[str(f["id"])],
                                   "fillOpacity": 0.65}) if colour_of else
        (lambda f: style),
        highlight_function=lambda f: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True),
        smooth_factor=0.5)
    return geojson


def _classes(values: pd.Series, scheme: str, classes: int) -> tuple[list[float], list[str]]:
    """Breaks (the least value, then each class's upper bound) and a colour per class.

    Every class holds a value: upper bounds are distinct, ties leaving fewer classes; the
    first class is just the least value when a bound falls on it, and a constant measure
    is one class ``[v, v]``.
    """
    if scheme not in SCHEMES:
        raise AssetmapError(f"unknown scheme {scheme!r}; schemes are {', '.join(SCHEMES)}")
    present = values.dropna().to_numpy(float)
    distinct = np.unique(present)
    if len(distinct) == 1:  # mapclassify's EqualInterval raises on a constant
        bins = distinct
    else:
        with warnings.catch_warnings():  # ties leave fewer classes: the legend shows them
            warnings.simplefilter("ignore", UserWarning)
            bins = np.unique(getattr(mapclassify, SCHEMES[scheme])(
                present, k=max(1, min(classes, len(distinct)))).bins)
    breaks = [float(distinct[0]), *map(float, bins)]
    palette = linear.YlOrRd_09.scale(0, 1)
    colours = [palette(i / max(len(breaks) - 2, 1)) for i in range(len(breaks) - 1)]
    return breaks, colours


def _colour_for(values: pd.Series, breaks: list[float], colours: list[str]) -> pd.Series:
    position = np.searchsorted(np.asarray(breaks[1:]), values.to_numpy(float), side="left")
    position = position.clip(0, len(colours) - 1)
    return pd.Series(np.asarray(colours, dtype=object)[position], index=values.index).where(
        values.notna(), "#d9d9d9")


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
                  labels: Mapping[str, str]) -> list[_AssetLayer]:
    """One layer per category present: the taxonomy's in its order, then any others (styled
    as "Other"), then the uncategorised as "Other". Every asset is in one."""
    web = assets.geometry.to_crs(WEB_CRS)
    lat = web.y.round(_DECIMALS).to_numpy()
    lon = web.x.round(_DECIMALS).to_numpy()
    names = assets["name"].fillna("").astype(str)
    names = names.mask(names == "", "(no name)").to_numpy()
    detail_labels, details = _details(assets, labels)
    category = assets["category"].fillna(_OTHER["label"])
    positions = category.groupby(category.to_numpy()).indices
    others = sorted(set(positions) - {*taxonomy.labels(), _OTHER["label"]})
    styles = taxonomy.categories.set_index("label")
    layers = []
    for label in dict.fromkeys([*taxonomy.labels(), *others, _OTHER["label"]]):
        if label not in positions:
            continue
        chosen = positions[label]
        style = styles.loc[label] if label in styles.index else pd.Series(_OTHER)
        columns = {"lat": lat[chosen].tolist(), "lon": lon[chosen].tolist(),
                   "name": names[chosen].tolist(), "labels": detail_labels,
                   "values": details[chosen].T.tolist()}
        layers.append(_AssetLayer(columns, _icon(style["colour"], style["icon"]),
                                  name=_escape(f"{label} ({len(chosen):,})")))
    return layers


def _details(assets: pd.DataFrame, labels: Mapping[str, str]) -> tuple[list[str], np.ndarray]:
    """The labels of an asset's popup rows and, per asset, its values as text ("" if none)."""
    columns = {"category": "Category", "type": "Type", "id": "ID", "postcode": "Postcode"}
    columns.update({f"{name}_name": name.upper() if name in _ACRONYMS else name.capitalize()
                    for name in labels if f"{name}_name" in assets})
    columns["source"] = "Register"
    return list(columns.values()), assets[list(columns)].fillna("").astype(str).to_numpy()


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

    def render(self, **kwargs) -> None:
        self.get_root().header.add_child(Element(_MARKER_SCRIPT), name="assetmap_markers")
        super().render(**kwargs)


_MARKER_SCRIPT = """<script>
function assetmapPopup(columns, i) {
    var box = document.createElement("div");
    box.className = "assetmap-popup";
    var heading = document.createElement("b");
    heading.textContent = columns.name[i];
    box.appendChild(heading);
    var table = document.createElement("table");
    columns.labels.forEach(function (label, j) {
        var value = columns.values[j][i];
        if (!value) { return; }
        var row = table.insertRow();
        var key = row.insertCell();
        key.textContent = label;
        key.style.paddingRight = "8px";
        key.style.color = "#555";
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
</script>
<style>.assetmap-icon { background: none; border: none; }</style>"""


class _AssetSearch(JSCSSMixin, MacroElement):
    """Search assets by name across the category layers; opens the asset's popup."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var groups = [{{ this.group_names|join(", ") }}];
            var search = new L.Control.Search({
                layer: L.layerGroup(groups), propertyName: "title", initial: false,
                marker: false, zoom: 17, textPlaceholder: "Search assets by name",
                buildTip: function (text) {
                    var tip = L.DomUtil.create("li", "");
                    tip.textContent = text;
                    return tip;
                }
            });
            search.on("search:locationfound", function (e) {
                var group = groups.find(function (g) { return g.hasLayer(e.layer); });
                if (group && {{ this._parent.get_name() }}.hasLayer(group)) {
                    group.zoomToShowLayer(e.layer, function () { e.layer.openPopup(); });
                }
            });
            {{ this._parent.get_name() }}.addControl(search);
        })();
        {% endmacro %}
    """)
    default_js = Search.default_js
    default_css = Search.default_css

    def __init__(self, groups: list[_AssetLayer]) -> None:
        super().__init__()
        self.group_names = [group.get_name() for group in groups]


class _Legend(MacroElement):
    """The choropleth's classes: colour swatches with their ranges."""

    _template = Template("""
        {% macro html(this, kwargs) %}
        <div class="assetmap-legend" style="position:absolute;bottom:28px;right:10px;
             z-index:1000;background:#fff;padding:6px 10px;border-radius:4px;
             box-shadow:0 0 4px #777;font:12px sans-serif">
          <b>{{ this.title }}</b><br><span style="color:#666">{{ this.scheme }}</span>
          {% for colour, text in this.rows %}
          <div><span style="display:inline-block;width:14px;height:10px;
               background:{{ colour }};margin-right:6px"></span>{{ text }}</div>
          {% endfor %}
        </div>
        {% endmacro %}
    """)

    def __init__(self, title: str, breaks: list[float], colours: list[str], scheme: str):
        super().__init__()
        self.title, self.scheme = title, scheme.replace("_", " ")  # label: escaped already
        self.rows = [(colour, f"{low:,.4g}" if low == high else f"{low:,.4g} – {high:,.4g}")
                     for low, high, colour in zip(breaks[:-1], breaks[1:], colours, strict=True)]


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
