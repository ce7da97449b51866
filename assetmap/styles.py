"""QGIS styles for the layers of a GeoPackage: a GeoPackage opened in QGIS is then styled.

Each style is a QML document (what QGIS's "Save style" writes): asset points by category
in the taxonomy's colours (:func:`category_style`), areas shaded by a measure's classes
(:func:`graduated_style`, :func:`measure_style`) or drawn as outlines
(:func:`outline_style`). :func:`write_layer_styles` stores them in the GeoPackage's
``layer_styles`` table, as QGIS's "Save style in database" does, each the layer's default.

Text in a style (category names and labels) is escaped by the XML writer, never pasted
into markup; characters XML cannot hold (control characters) are dropped.
"""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from contextlib import closing
from itertools import pairwise
from pathlib import Path

from .errors import AssetmapError

#: The QGIS version the documents are written as (3.22 LTR reads them too: checked).
_QGIS_VERSION = "3.28.0-Firenze"
_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
_POINT, _POLYGON = 0, 2  # QGIS's layerGeometryType
_OTHER_COLOUR = "#555555"  # assets of no taxonomy category, as on the HTML map
_FILL_OPACITY = 0.7  # shaded areas, as on the HTML map
_MM_PER_PX = 0.26  # a Leaflet line weight (CSS pixels) in millimetres
_COLOUR = re.compile(r"#([0-9a-fA-F]{2})([0-9a-fA-F]{2})([0-9a-fA-F]{2})([0-9a-fA-F]{2})?")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: The table QGIS reads a layer's default style from (its schema, as GDAL writes it for QGIS).
_TABLE = "layer_styles"
_CREATE = f"""CREATE TABLE "{_TABLE}" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "f_table_catalog" TEXT(256),
  "f_table_schema" TEXT(256), "f_table_name" TEXT(256), "f_geometry_column" TEXT(256),
  "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, "useAsDefault" BOOLEAN,
  "description" TEXT, "owner" TEXT(30), "ui" TEXT(30),
  "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"""


def category_style(colours: Mapping[str, str], column: str = "category") -> str:
    """QML for points: a round marker per category (label: ``#rrggbb`` colour, e.g.
    ``taxonomy.categories.set_index("label")["colour"]``), in that order, then "Other"
    (grey) for any other value or none."""
    categories = ET.Element("categories")
    symbols = ET.Element("symbols")
    shown = [*dict(colours).items(), ("", _OTHER_COLOUR)]  # "": QGIS's "all other values"
    for i, (label, colour) in enumerate(shown):
        ET.SubElement(categories, "category", value=_text(label),
                      label=_text(label) or "Other", symbol=str(i), render="true",
                      type="string")
        symbols.append(_marker(str(i), colour))
    renderer = _renderer("categorizedSymbol", attr=_text(column))
    renderer.extend([categories, symbols])
    return _qml(renderer, _POINT)


def graduated_style(column: str, breaks: Sequence[float], colours: Sequence[str],
                    labels: Sequence[str]) -> str:
    """QML for polygons shaded by ``column``: class ``i`` holds ``breaks[i] <= value <
    breaks[i + 1]`` (the last its upper break too), filled with ``colours[i]`` and named
    ``labels[i]`` in the legend. Areas with no number (missing, or text such as a
    suppressed cell's ``[c]``, which QGIS would take for 0) are not drawn.
    """
    if not len(breaks) == len(colours) + 1 == len(labels) + 1 or not labels:
        raise AssetmapError(f"a graduated style needs one break more than its classes: "
                            f"{len(breaks)} breaks, {len(colours)} colours, "
                            f"{len(labels)} labels")
    if any(low >= high for low, high in pairwise(breaks)):
        raise AssetmapError(f"class breaks must increase: {list(breaks)}")
    ranges = ET.Element("ranges")
    symbols = ET.Element("symbols")
    # QGIS takes the first range holding a value, ends included: listed from the top one
    # down, a value on a break falls in the class above it, as on the HTML map.
    for i in reversed(range(len(labels))):
        ET.SubElement(ranges, "range", lower=repr(float(breaks[i])),
                      upper=repr(float(breaks[i + 1])), symbol=str(i),
                      label=_text(labels[i]), render="true")
        symbols.append(_fill(str(i), colours[i], outline="#808080", width_mm=0.26))
    quoted = '"{}"'.format(_text(column).replace('"', '""'))  # a QGIS column reference
    renderer = _renderer("graduatedSymbol", attr=f"try(to_real({quoted}))",
                         graduatedMethod="GraduatedColor")
    renderer.extend([ranges, symbols])
    ET.SubElement(renderer, "mode", name="fixed")
    return _qml(renderer, _POLYGON)


def outline_style(colour: str, width_mm: float) -> str:
    """QML for boundary polygons: no fill, an outline in ``colour``, ``width_mm`` wide."""
    symbols = ET.Element("symbols")
    symbols.append(_fill("0", None, outline=colour, width_mm=width_mm))
    renderer = _renderer("singleSymbol")
    renderer.append(symbols)
    return _qml(renderer, _POLYGON)


def measure_style(column: str) -> str:
    """:func:`graduated_style` of a measure with fixed classes (the gap score, the
    percentages of :data:`assetmap.maps.MEASURES`), in the HTML map's classes, colours and
    labels. Imports :mod:`assetmap.maps` (folium, about a second) when first called."""
    from . import maps

    spec = maps.MEASURES.get(column)
    if spec is None or not spec.edges:
        fixed = [name for name, m in maps.MEASURES.items() if m.edges]
        raise AssetmapError(f"{column!r} has no fixed classes; measures with fixed classes "
                            f"are {', '.join(fixed)}")
    edges, labels, _ = maps.class_edges(None, spec, "quantiles", len(spec.edges) - 1)
    colours = maps.class_colours(spec, len(labels))
    return graduated_style(column, edges.tolist(), colours, labels)


def boundary_style(layer: str) -> str:
    """:func:`outline_style` of a boundary layer in its colour and weight on the HTML map
    (:func:`assetmap.maps.layer_style`). Imports :mod:`assetmap.maps` when first called."""
    from . import maps

    _, _, colour, weight = maps.layer_style(layer)
    return outline_style(colour, weight * _MM_PER_PX)


def write_layer_styles(path: str | Path, styles: Mapping[str, str]) -> None:
    """Store each layer's QML (layer name: QML) in the GeoPackage at ``path`` as its default
    QGIS style, replacing the style of that name written before.

    The ``layer_styles`` table is made as QGIS makes it (and registered as an attributes
    table, so GDAL and QGIS list it). Its dates are the GeoPackage's latest
    ``last_change``, not the clock's: the same layers and styles give the same bytes.
    """
    path = Path(path)
    if not path.is_file():
        raise AssetmapError("no GeoPackage to style", file=path)
    with closing(sqlite3.connect(path)) as db, db:
        try:
            tables = {name: geometry or "" for name, geometry in db.execute(
                "SELECT c.table_name, g.column_name FROM gpkg_contents c LEFT JOIN "
                "gpkg_geometry_columns g ON g.table_name = c.table_name")}
        except sqlite3.DatabaseError:
            raise AssetmapError("is not a GeoPackage", file=path) from None
        missing = [name for name in styles if name not in tables]
        if missing:
            raise AssetmapError(f"no layer {', '.join(map(repr, missing))} to style; layers "
                                f"are {', '.join(t for t in tables if t != _TABLE)}",
                                file=path)
        stamp = db.execute("SELECT max(last_change) FROM gpkg_contents WHERE table_name != ?",
                           (_TABLE,)).fetchone()[0]
        if _TABLE not in tables:
            db.execute(_CREATE)
            db.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, "
                       "description, last_change, srs_id) VALUES (?, 'attributes', ?, '', "
                       "?, 0)", (_TABLE, _TABLE, stamp))
        for layer, qml in styles.items():
            key = (layer, tables[layer])
            db.execute(f"DELETE FROM {_TABLE} WHERE f_table_name = ? AND "
                       "f_geometry_column = ? AND styleName = ?", (*key, layer))
            db.execute(f"UPDATE {_TABLE} SET useAsDefault = 0 WHERE f_table_name = ? AND "
                       "f_geometry_column = ?", key)
            # QGIS finds a layer's style by f_table_schema = '' (not NULL), name and column
            db.execute(f"INSERT INTO {_TABLE} (f_table_catalog, f_table_schema, "
                       "f_table_name, f_geometry_column, styleName, styleQML, styleSLD, "
                       "useAsDefault, description, owner, update_time) VALUES "
                       "('', '', ?, ?, ?, ?, '', 1, 'assetmap', '', ?)",
                       (*key, layer, qml, stamp))


def _renderer(kind: str, **attrs: str) -> ET.Element:
    return ET.Element("renderer-v2", type=kind, **attrs, symbollevels="0", forceraster="0",
                      enableorderby="0", referencescale="-1")


def _qml(renderer: ET.Element, geometry: int) -> str:
    root = ET.Element("qgis", version=_QGIS_VERSION, styleCategories="Symbology")
    root.append(renderer)
    ET.SubElement(root, "layerGeometryType").text = str(geometry)
    ET.indent(root)
    return _DOCTYPE + ET.tostring(root, encoding="unicode") + "\n"


def _marker(name: str, colour: str) -> ET.Element:
    """A round marker in ``colour`` with a white rim (the HTML map's badge)."""
    return _symbol("marker", name, "SimpleMarker", {
        "name": "circle", "color": _rgba(colour), "outline_color": "255,255,255,255",
        "outline_style": "solid", "outline_width": "0.4", "outline_width_unit": "MM",
        "size": "3.5", "size_unit": "MM", "scale_method": "diameter", "angle": "0"})


def _fill(name: str, colour: str | None, *, outline: str, width_mm: float) -> ET.Element:
    """A polygon fill in ``colour`` (None: no fill) with an ``outline``."""
    return _symbol("fill", name, "SimpleFill", {
        "color": "0,0,0,0" if colour is None else _rgba(colour, _FILL_OPACITY),
        "style": "no" if colour is None else "solid", "outline_color": _rgba(outline),
        "outline_style": "solid", "outline_width": f"{width_mm:g}",
        "outline_width_unit": "MM", "joinstyle": "round"})


def _symbol(kind: str, name: str, layer_class: str, props: Mapping[str, str]) -> ET.Element:
    """A one-layer symbol, its properties as QGIS writes them (read by 3.22 and later)."""
    symbol = ET.Element("symbol", type=kind, name=name, alpha="1", clip_to_extent="1",
                        force_rhr="0")
    layer = ET.SubElement(symbol, "layer", {"class": layer_class, "enabled": "1",
                                            "locked": "0", "pass": "0"})
    options = ET.SubElement(layer, "Option", type="Map")
    for key, value in props.items():
        ET.SubElement(options, "Option", name=key, type="QString", value=value)
    return symbol


def _rgba(colour: str, opacity: float = 1.0) -> str:
    """``#rrggbb`` (or ``#rrggbbaa``) as QGIS writes a colour: ``r,g,b,a`` (0-255)."""
    match = _COLOUR.fullmatch(str(colour))
    if match is None:
        raise AssetmapError(f"colour must look like #1f77b4, not {colour!r}")
    red, green, blue, alpha = (int(part or "ff", 16) for part in match.groups())
    return f"{red},{green},{blue},{round(alpha * opacity)}"


def _text(value: object) -> str:
    """Text for an XML attribute: characters XML 1.0 cannot hold dropped (the writer
    escapes the rest)."""
    return _NOT_XML.sub("", str(value))
