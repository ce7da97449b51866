"""QGIS styles in GeoPackages: the QML documents, the ``layer_styles`` table, and
GeoPackages that are the same bytes when written twice."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from contextlib import closing
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from assetmap import maps
from assetmap.errors import AssetmapError
from assetmap.outputs import GPKG_DATE, write_geo, write_geo_layers
from assetmap.styles import (
    boundary_style,
    category_style,
    graduated_style,
    measure_style,
    outline_style,
    write_layer_styles,
)
from assetmap.taxonomy import load_taxonomy

HOSTILE = "<b>\"x\"&'</b>"


def _rgba(colour: str, alpha: int = 255) -> str:
    return ",".join(str(int(colour[i:i + 2], 16)) for i in (1, 3, 5)) + f",{alpha}"


def _option(symbol: ET.Element, name: str) -> str:
    return symbol.find(f"layer/Option/Option[@name='{name}']").get("value")


def _frames() -> dict[str, gpd.GeoDataFrame]:
    points = shapely.points([(410000 + 50 * i, 432000 + 30 * i) for i in range(40)])
    assets = gpd.GeoDataFrame({"name": [f"site {i}" for i in range(40)],
                               "category": (["Library", "School", HOSTILE, None] * 10)},
                              geometry=points, crs=27700)
    boxes = [shapely.box(409000 + 1000 * i, 431000, 410000 + 1000 * i, 434000)
             for i in range(4)]
    ward = gpd.GeoDataFrame({"code": ["E1", "E2", "E3", "E4"], "name": list("ABCD"),
                             "gap_score": [0.0, 20.0, 55.5, 100.0]}, geometry=boxes, crs=27700)
    constituency = gpd.GeoDataFrame({"code": ["C1"], "name": ["Bradford"]},
                                    geometry=[shapely.union_all(boxes)], crs=27700)
    return {"assets": assets, "ward": ward, "constituency": constituency}


def _styles() -> dict[str, str]:
    return {"assets": category_style({"Library": "#1f77b4", HOSTILE: "#d62728"}),
            "ward": measure_style("gap_score"), "constituency": boundary_style("constituency")}


def test_category_style_draws_each_category_in_its_colour():
    taxonomy = load_taxonomy()
    colours = taxonomy.categories.set_index("label")["colour"]
    root = ET.fromstring(category_style(colours))
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "category"
    categories = renderer.findall("categories/category")
    assert [c.get("value") for c in categories] == [*taxonomy.labels(), ""]  # "": the rest
    assert categories[-1].get("label") == "Other"
    symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
    for category, colour in zip(categories, [*colours, "#555555"], strict=True):
        symbol = symbols[category.get("symbol")]
        assert symbol.get("type") == "marker"
        assert _option(symbol, "color") == _rgba(colour)
    assert root.find("layerGeometryType").text == "0"


def test_hostile_text_is_escaped_not_markup():
    qml = category_style({HOSTILE: "#1f77b4", "a\x01b": "#d62728"}, column=HOSTILE)
    assert "<b>" not in qml
    root = ET.fromstring(qml)  # control characters dropped: still XML
    renderer = root.find("renderer-v2")
    assert renderer.get("attr") == HOSTILE
    assert [c.get("value") for c in renderer.findall("categories/category")] == \
        [HOSTILE, "ab", ""]
    root = ET.fromstring(graduated_style(HOSTILE, [0, 1], ["#000000"], [HOSTILE]))
    assert root.find("renderer-v2/ranges/range").get("label") == HOSTILE
    assert root.find("renderer-v2").get("attr") == 'try(to_real("<b>""x""&\'</b>"))'
    assert len(root.findall(".//b")) == 0


def test_measure_style_has_the_maps_fixed_classes():
    root = ET.fromstring(measure_style("gap_score"))
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "graduatedSymbol"
    assert renderer.get("attr") == 'try(to_real("gap_score"))'  # "[c]": no class, not 0
    ranges = renderer.findall("ranges/range")
    spec = maps.MEASURES["gap_score"]
    assert sorted((float(r.get("lower")), float(r.get("upper"))) for r in ranges) == \
        list(pairwise(spec.edges))
    labels = [r.get("label") for r in reversed(ranges)]
    assert all(name in label for name, label in zip(spec.names, labels, strict=True))
    symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
    fills = [_option(symbols[r.get("symbol")], "color") for r in reversed(ranges)]
    assert len(set(fills)) == 5 and fills[-1].startswith("128,0,38,")  # darkest = highest

    def drawn_in(value: float) -> tuple[float, float]:  # QGIS: the first range holding it
        first = next(r for r in ranges if float(r.get("lower")) <= value <= float(r.get("upper")))
        return float(first.get("lower")), float(first.get("upper"))

    assert drawn_in(20.0) == (20.0, 40.0)  # as on the HTML map: 20 is "20 to under 40"
    assert drawn_in(0.0) == (0.0, 20.0) and drawn_in(100.0) == (80.0, 100.0)
    lower_is_worse = ET.fromstring(measure_style("coverage_residents_pct"))
    first = lower_is_worse.find("renderer-v2/ranges/range")  # the top class: 80-100%
    top = lower_is_worse.find(f"renderer-v2/symbols/symbol[@name='{first.get('symbol')}']")
    assert _option(top, "color").startswith("255,255,204,")  # lightest


def test_graduated_and_measure_styles_refuse_bad_classes():
    with pytest.raises(AssetmapError, match="one break more"):
        graduated_style("x", [0, 1, 2], ["#000000", "#ffffff"], ["a"])
    with pytest.raises(AssetmapError, match="must increase"):
        graduated_style("x", [0, 2, 1], ["#000000", "#ffffff"], ["a", "b"])
    with pytest.raises(AssetmapError, match="colour must look like"):
        graduated_style("x", [0, 1], ["red"], ["a"])
    with pytest.raises(AssetmapError, match="no fixed classes"):
        measure_style("assets")


def test_outline_style_has_no_fill():
    symbol = ET.fromstring(outline_style("#6a3d9a", 0.8)).find("renderer-v2/symbols/symbol")
    assert symbol.get("type") == "fill"
    assert _option(symbol, "style") == "no"
    assert _option(symbol, "outline_color") == "106,61,154,255"
    assert float(_option(symbol, "outline_width")) == 0.8
    ward = ET.fromstring(boundary_style("ward")).find("renderer-v2/symbols/symbol")
    assert _option(ward, "outline_color") == _rgba(maps.LAYER_NAMES["ward"][2])


def test_write_layer_styles_makes_qgis_table(tmp_path):
    frames, styles = _frames(), _styles()
    path = write_geo_layers(frames, tmp_path / "pack.gpkg", styles=styles)
    write_layer_styles(path, styles)  # replaced, not added
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT f_table_catalog, f_table_schema, f_table_name, "
                          "f_geometry_column, styleName, styleQML, useAsDefault, update_time "
                          "FROM layer_styles ORDER BY f_table_name").fetchall()
        contents = dict(db.execute("SELECT table_name, data_type FROM gpkg_contents"))
    assert [r[2] for r in rows] == sorted(styles)
    for catalog, schema, table, column, name, qml, default, stamp in rows:
        assert (catalog, schema, name, default, stamp) == ("", "", table, 1, GPKG_DATE)
        assert column == pyogrio.read_info(path, layer=table)["geometry_name"]
        assert qml == styles[table]
    assert contents == {"assets": "features", "ward": "features",
                        "constituency": "features", "layer_styles": "attributes"}
    listed = dict(pyogrio.list_layers(path))
    assert listed == {"assets": "Point", "ward": "Polygon", "constituency": "Polygon",
                      "layer_styles": None}
    for name, frame in frames.items():
        back = gpd.read_file(path, layer=name)
        assert back.drop(columns="geometry").equals(frame.drop(columns="geometry"))
        assert back.geom_equals(frame.geometry).all()
    table = pyogrio.read_dataframe(path, layer="layer_styles")  # GDAL reads it as QGIS would
    assert sorted(table["f_table_name"]) == sorted(styles)
    assert table["useAsDefault"].tolist() == [True] * 3


def test_style_keeps_the_real_geometry_column_and_other_styles(tmp_path):
    path = tmp_path / "other.gpkg"
    frame = _frames()["ward"]
    pyogrio.write_dataframe(frame, path, layer="ward", layer_options={"GEOMETRY_NAME": "shape"})
    write_layer_styles(path, {"ward": outline_style("#000000", 0.5)})
    with closing(sqlite3.connect(path)) as db:
        db.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                   "f_geometry_column, styleName, styleQML, useAsDefault) VALUES "
                   "('', '', 'ward', 'shape', 'mine', '<qgis/>', 1)")
        db.commit()
    write_layer_styles(path, {"ward": measure_style("gap_score")})
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT styleName, f_geometry_column, useAsDefault FROM layer_styles "
                          "ORDER BY styleName").fetchall()
    assert rows == [("mine", "shape", 0), ("ward", "shape", 1)]  # one default per layer


def test_write_layer_styles_refuses_unknown_layers_and_other_files(tmp_path):
    path = write_geo_layers(_frames(), tmp_path / "pack.gpkg")
    with pytest.raises(AssetmapError, match="no layer 'lsoa' to style; layers are assets"):
        write_layer_styles(path, {"lsoa": outline_style("#000000", 0.5)})
    with pytest.raises(AssetmapError, match=r"/other\.gpkg: a style for no layer: 'lsoa'"):
        write_geo_layers(_frames(), tmp_path / "other.gpkg", styles={"lsoa": "<qgis/>"})
    assert not (tmp_path / "other.gpkg").exists()
    text = tmp_path / "notes.gpkg"
    text.write_text("not a database at all, " * 100)
    with pytest.raises(AssetmapError, match="is not a GeoPackage"):
        write_layer_styles(text, {"ward": outline_style("#000000", 0.5)})
    with pytest.raises(AssetmapError, match="no GeoPackage to style"):
        write_layer_styles(tmp_path / "missing.gpkg", {})


def test_geopackages_are_the_same_bytes_when_written_twice(tmp_path):
    frames = _frames()
    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    first = write_geo_layers(frames, tmp_path / "a.gpkg")
    second = write_geo_layers(frames, tmp_path / "b.gpkg")
    assert first.read_bytes() == second.read_bytes()
    with closing(sqlite3.connect(first)) as db:
        assert {d for (d,) in db.execute("SELECT last_change FROM gpkg_contents")} == \
            {GPKG_DATE}
    for path in (first, second):
        write_layer_styles(path, _styles())
    assert first.read_bytes() == second.read_bytes()
    styled = [write_geo_layers(frames, tmp_path / f"{n}.gpkg", styles=_styles()) for n in "cd"]
    assert styled[0].read_bytes() == styled[1].read_bytes()
    single = [write_geo(frames["ward"], tmp_path / f"{n}" / "ward.gpkg") for n in "ab"]
    assert single[0].read_bytes() == single[1].read_bytes()
    assert pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") == before  # nothing leaks


#: Reads a GeoPackage's layers in QGIS (Debian's ``python3-qgis``, for its own Python) and
#: prints, per layer, its renderer and the colour each feature is drawn in (None: not drawn).
_QGIS_SCRIPT = """
import json, os, sys
from qgis.core import (QgsApplication, QgsExpressionContext, QgsExpressionContextUtils,
                       QgsRenderContext, QgsVectorLayer)
app = QgsApplication([], False)
app.initQgis()
out = {}
for name, column in json.loads(sys.argv[2]).items():
    layer = QgsVectorLayer(f"{sys.argv[1]}|layername={name}", name, "ogr")
    renderer, context = layer.renderer(), QgsRenderContext()
    context.setExpressionContext(
        QgsExpressionContext(QgsExpressionContextUtils.globalProjectLayerScopes(layer)))
    renderer.startRender(context, layer.fields())
    drawn = []
    for feature in layer.getFeatures():
        context.expressionContext().setFeature(feature)
        symbol = renderer.symbolForFeature(feature, context)
        drawn.append([feature[column] if feature[column] is not None and
                      str(feature[column]) != "NULL" else None,
                      symbol.color().name() if symbol else None])
    renderer.stopRender(context)
    out[name] = {"renderer": renderer.type(), "drawn": drawn}
print(json.dumps(out), flush=True)
os._exit(0)  # QGIS may crash tearing down live layers
"""


#: Debian's Python, and where its ``python3-qgis`` puts QGIS's bindings.
_QGIS_PYTHON, _QGIS = Path("/usr/bin/python3"), Path("/usr/lib/python3/dist-packages/qgis/core")


@pytest.mark.skipif(not _QGIS.is_dir(), reason="QGIS (Debian's python3-qgis) not installed")
def test_qgis_opens_the_geopackage_styled(tmp_path):
    frames = _frames()
    frames["ward"]["gap_score"] = ["12.5", "[c]", "40", None]  # published: text, suppressed
    path = write_geo_layers(frames, tmp_path / "pack.gpkg")
    write_layer_styles(path, _styles())
    columns = {"assets": "category", "ward": "gap_score", "constituency": "code"}
    run = subprocess.run([_QGIS_PYTHON, "-c", _QGIS_SCRIPT, str(path), json.dumps(columns)],
                         capture_output=True, text=True, env={**os.environ,
                                                              "QT_QPA_PLATFORM": "offscreen"})
    assert run.returncode == 0, run.stderr
    layers = json.loads(run.stdout.strip().splitlines()[-1])
    assert {n: v["renderer"] for n, v in layers.items()} == {
        "assets": "categorizedSymbol", "ward": "graduatedSymbol", "constituency": "singleSymbol"}
    assert dict(map(tuple, layers["assets"]["drawn"])) == {
        "Library": "#1f77b4", HOSTILE: "#d62728", "School": "#555555", None: "#555555"}
    assert dict(map(tuple, layers["ward"]["drawn"])) == {
        "12.5": "#ffffcc", "[c]": None, "40": "#fd8d3c", None: None}
    assert layers["constituency"]["drawn"][0][1] is not None
