"""The Bradford map, opened in headless Chromium: loads clean, offline, safe, under budget."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import EVALUATED, MARKUP, TEMPLATES, recorded_page, registers_with_groups

import assetmap
from assetmap.cli.main import cli
from assetmap.maps import SCHEMES, _AssetLayer, _Legend, make_map, write_map
from assetmap.pipeline import map_registers

HOSTILE = [*MARKUP, *TEMPLATES]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "out" / "screenshots"

@pytest.fixture(scope="module")
def registers(data, tmp_path_factory) -> list[Path]:
    """Real GP practices and schools, and 800 community groups at real postcodes, three of
    them named to attack the page."""
    return registers_with_groups(data, tmp_path_factory.mktemp("registers"), HOSTILE, 1)


@pytest.fixture(scope="module")
def bradford_map(registers):
    return map_registers(registers, layers=["ward", "constituency", "lsoa"], map_options=dict(
        measure=("ward", "total"), coverage=("School", 800), tiles="none",
        title="Bradford assets Sum {{7*7}}"))


@pytest.fixture(scope="module")
def offline_page(bradford_map, tmp_path_factory) -> Path:
    return write_map(bradford_map, tmp_path_factory.mktemp("maps") / "offline.html")


def open_popup_by_search(page, name: str):
    """Search for an asset by the start of its name, pick it: the tip's text and the popup."""
    page.locator(".search-button").click()
    page.get_by_placeholder("Search assets, areas, postcodes").press_sequentially(name[:6])
    tip = page.locator(".search-tip").get_by_text(name, exact=True)
    tip.wait_for()
    text = tip.inner_text()
    tip.click()
    popup = page.locator(".leaflet-popup-content .assetmap-popup")
    popup.wait_for()
    return text, popup


def legend(fmap) -> dict:
    """The legend's content (title, notes, rows of colour and label) of a map."""
    (element,) = [c for c in fmap._children.values() if isinstance(c, _Legend)]
    return element.spec


@pytest.fixture()
def page(browser, offline_page):
    """The offline map, opened; records errors, requests and dialogs."""
    page = recorded_page(browser, offline_page.as_uri())
    page.wait_for_selector(".assetmap-icon")
    yield page
    page.close()


def test_offline_map_loads_with_no_error_and_no_network_request(page, offline_page):
    assert page.errors == []
    assert page.requests == [offline_page.as_uri()]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "bradford_offline.png")


def test_layer_control_lists_boundaries_coverage_and_categories(page):
    labels = [t.strip() for t in page.locator(
        ".leaflet-control-layers-overlays label").all_inner_texts()]
    assert labels == [
        "Electoral wards (2004 warding, 2013 codes)",
        "Westminster constituencies (2010 boundaries)",
        "Lower layer super output areas (2011)",
        "School: within 800 m",
        "Voluntary or community group (800)",
        "GP practice (59)",
        "School (215)",
    ]


def test_clicking_a_marker_opens_a_popup_naming_the_asset(page):
    marker = page.locator(".assetmap-icon").first
    name = marker.get_attribute("title")
    marker.click()
    popup = page.locator(".leaflet-popup-content .assetmap-popup")
    popup.wait_for()
    assert popup.locator("b").inner_text() == name
    assert "Ward" in popup.inner_text()


def test_popups_list_only_the_asset_s_non_empty_values(page):
    _, popup = open_popup_by_search(page, "Group 12")
    rows = [row.locator("td").all_inner_texts() for row in popup.locator("tr").all()]
    assert [label for label, _ in rows] == [
        "Category", "Type", "Postcode", "Opening times", "Ward", "Constituency", "LSOA",
        "Register"]  # no ID
    assert dict(rows)["Type"] == "Community group" and all(value for _, value in rows)
    assert dict(rows)["Opening times"] == "Tuesdays 1pm"  # Group 12: the register's own


def test_popups_show_the_register_s_own_columns(page, data):
    practice = pd.read_csv(data / "bradford" / "gp_practices.csv", dtype=str).iloc[3]
    _, popup = open_popup_by_search(page, practice["practice_name"])
    rows = dict(row.locator("td").all_inner_texts() for row in popup.locator("tr").all())
    assert rows["telephone"] == practice["telephone"]
    assert rows["pcn_name"] == practice["pcn_name"]
    assert "URN" not in rows and "OfstedRating (name)" not in rows  # schools' columns


def test_popup_labels_go_into_the_page_once_per_layer_not_per_asset(offline_page):
    page = offline_page.read_text(encoding="utf-8")
    assert page.count('"Constituency"') == 3 + 1  # 3 category layers; the areas' kind


def test_legend_shows_the_measure_and_its_classes(page):
    legend = page.locator(".assetmap-legend").inner_text().splitlines()
    assert legend[:4] == ["Assets in the area (all categories)",
                          "Areas: Electoral wards (2004 warding, 2013 codes)",
                          "Darker = worse (lower values)", "Classes: quantiles"]
    assert len([line for line in legend[4:] if re.fullmatch(r"\d+(–\d+)?", line)]) == 5


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_show_as_literal_text_and_run_nothing(page, name):
    tip, popup = open_popup_by_search(page, name)
    assert tip == name
    assert popup.locator("b").inner_text() == name
    assert page.locator("img[src='x']").count() == 0
    assert page.dialogs == [] and page.errors == []


def test_a_template_title_shows_as_typed(page):
    assert page.locator(".assetmap-title").inner_text() == "Bradford assets Sum {{7*7}}"


def assert_shown_as_typed(page: str) -> None:
    """Every template payload is in the page as typed; none was evaluated; no raw HTML."""
    for text in TEMPLATES:
        assert text in page
    for text in EVALUATED:
        assert text not in page
    assert "<img src=x" not in page and "<script>alert(2)" not in page


@pytest.fixture(scope="module")
def hostile_layers(layers) -> dict:
    """Wards and LSOAs whose names, codes and a measure column's name are payloads."""
    ward = layers["ward"].copy()
    payloads = [*TEMPLATES, *HOSTILE[:3]]
    ward["name"] = [payloads[i % len(payloads)] for i in range(len(ward))]
    ward["code"] = [f"{payloads[i % len(payloads)]} {i}" for i in range(len(ward))]
    ward["Sum {{7*7}} <b>"] = range(len(ward))
    return {"ward": ward, "Pid {{ cycler.__init__.__globals__.os.getpid() }}": layers["lsoa"]}


def test_template_text_in_every_map_field_is_shown_as_typed(hostile_layers):
    ward = hostile_layers["ward"]
    payloads = [*HOSTILE] * 2
    assets = gpd.GeoDataFrame(
        {"name": payloads, "type": payloads[::-1], "id": payloads[1:] + payloads[:1],
         "postcode": payloads[3:] + payloads[:3], "source": payloads[2:] + payloads[:2],
         "category": ["School", "Note {#", "Open {{ here"] * 5 + ["Sum {{7*7}}"],
         "Cond {% if 1 %}x{% endif %} <b>": payloads[4:] + payloads[:4],  # a register column
         "ward_name": ward["name"].to_numpy()[:len(payloads)],
         "Pid {{ cycler.__init__.__globals__.os.getpid() }}_name": payloads},
        geometry=ward.geometry.representative_point().to_numpy()[:len(payloads)],
        crs=ward.crs)
    fmap = make_map(hostile_layers, assets, measure=("ward", "Sum {{7*7}} <b>"),
                    coverage=("Sum {{7*7}}", 500), tiles="none", title="Title {{7*7}} {#",
                    attribution=["Cond {% if 1 %}x{% endif %}", "Open {{ here"],
                    labels={"ward": "Sum {{7*7}}"})
    page = fmap.get_root().render()
    assert_shown_as_typed(page)
    assert "Title {{7*7}} {#" in page and '"Pid {{ cycler.__init__' in page
    spec = legend(fmap)
    assert spec["title"] == "Sum {{7*7}} <b>" and "Areas: Sum {{7*7}}" in spec["notes"]
    assert json.dumps(spec["title"]).replace("<", "\\u003c").replace(">", "\\u003e") in page
    assert "Sum {{7*7}} \\u0026lt;b\\u0026gt;" in page  # tooltip label: escaped for HTML
    assert '"Cond {% if 1 %}x{% endif %} \\u003cb\\u003e"' in page  # popup label: JSON
    assert_shown_as_typed(html.unescape(fmap._repr_html_()))  # the notebook's render too


def test_cli_map_of_a_template_register_and_layer_exits_0_showing_text_as_typed(
        data, hostile_layers, tmp_path):
    postcodes = pd.read_csv(data / "bradford" / "postcodes_bd.csv", nrows=len(HOSTILE))
    register = tmp_path / "groups.csv"
    pd.DataFrame({"Name": HOSTILE, "Type": HOSTILE[::-1], "ID": HOSTILE[1:] + HOSTILE[:1],
                  "Postcode": postcodes["postcode"]}).to_csv(register, index=False)
    wards = tmp_path / "wards.geojson"
    hostile_layers["ward"].to_file(wards)
    taxonomy = tmp_path / "taxonomy.toml"
    taxonomy.write_text('[categories.x]\nlabel = "Sum {{7*7}}"\ncolour = "#123456"\n'
                        'icon = "x"\nsynonyms = []\n', encoding="utf-8")
    out = tmp_path / "map.html"
    result = CliRunner().invoke(cli, [
        "map", str(register), "--taxonomy", str(taxonomy), "--category", "Sum {{7*7}}",
        "--layers",
        f"Open {{{{ here={wards}", "--measure", "Open {{ here:Sum {{7*7}}",
        "--title", "Pid {{ cycler.__init__.__globals__.os.getpid() }}", "--tiles", "none",
        "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert_shown_as_typed(page)
    assert '"title": "Sum {{7*7}}: assets in the area"' in page  # the legend, as JSON
    assert re.search(r'class="assetmap-title"[^>]*>\s*Pid \{\{ cycler', page)


def test_bradford_map_with_1000_assets_stays_under_3_mb(bradford_map, offline_page, tmp_path):
    online = write_map(bradford_map, tmp_path / "online.html", offline=False)
    assert offline_page.stat().st_size < 3_000_000
    assert online.stat().st_size < 3_000_000
    page = online.read_text(encoding="utf-8")
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in page
    assert "bootstrap" not in page and "font-awesome" not in page  # only what is used


def test_online_map_uses_tiles_and_a_minimap(layers):
    fmap = make_map({"ward": layers["ward"]}, tiles="openstreetmap")
    page = fmap.get_root().render()
    assert "tile.openstreetmap.org" in page and "MiniMap" in page
    assert fmap._repr_html_().startswith("<div")  # renders inline in Jupyter


def remote_resources(page: str) -> list[str]:
    return re.findall(r'<script src="https?:[^"]*"|<link rel="stylesheet" href="https?:[^"]*"',
                      page)


def test_cli_map_is_self_contained_unless_cdn_is_asked_for(data, tmp_path):
    register = data / "bradford" / "gp_practices.csv"
    runs = {}
    for name, options in {"default": [], "cdn": ["--cdn"], "offline": ["--offline"]}.items():
        out = tmp_path / f"{name}.html"
        result = CliRunner().invoke(cli, ["map", str(register), "--layers", "ward",
                                          *options, "-o", str(out)])
        assert result.exit_code == 0, result.output
        runs[name] = result.stderr, out.read_text(encoding="utf-8")
    assert remote_resources(runs["default"][1]) == remote_resources(runs["offline"][1]) == []
    assert "tile.openstreetmap.org" in runs["default"][1]  # the basemap, when online
    assert len(remote_resources(runs["cdn"][1])) > 3
    assert [line for line in runs["cdn"][0].splitlines() if "warning" in line] == [
        "warning: --cdn: the map loads scripts from CDNs: blank without network"]
    assert "warning" not in runs["default"][0]


def test_map_help_teaches_the_self_contained_default_with_examples():
    result = CliRunner().invoke(cli, ["map", "--help"])
    assert result.exit_code == 0 and "Examples:" in result.output
    assert "--offline / --cdn" in result.output and "assetmap map schools.csv --cdn" in \
        result.output


@pytest.fixture(scope="module")
def notebook_page(bradford_map, tmp_path_factory) -> Path:
    """The map as a notebook shows it (``_repr_html_``), in a page of its own."""
    path = tmp_path_factory.mktemp("notebook") / "cell.html"
    path.write_text(f"<!DOCTYPE html><html><body>{bradford_map._repr_html_()}</body></html>",
                    encoding="utf-8")
    return path


def test_notebook_map_is_self_contained(bradford_map, notebook_page, browser):
    inline = bradford_map._repr_html_()
    assert inline.startswith("<div") and "srcdoc=" in inline
    assert remote_resources(html.unescape(inline)) == []
    page = recorded_page(browser, notebook_page.as_uri())
    frame = page.frame_locator("iframe")
    frame.locator(".assetmap-icon").first.wait_for()
    assert frame.locator(".assetmap-title").inner_text() == "Bradford assets Sum {{7*7}}"
    assert page.errors == [] and page.requests == [notebook_page.as_uri()]
    page.close()


@pytest.mark.parametrize("name", ["ward", "lsoa"])
def test_boundary_simplification_opens_no_slivers_between_neighbours(layers, name):
    def gaps(geometries) -> float:
        union = shapely.union_all(geometries)
        return sum(shapely.Polygon(ring).area for part in getattr(union, "geoms", [union])
                   for ring in part.interiors)

    layer = layers[name]
    web = assetmap.maps.web_layer(layer)
    assert web.crs.to_epsg() == 4326 and web.is_valid.all()
    assert shapely.get_num_coordinates(web.geometry.array).sum() < \
        shapely.get_num_coordinates(layer.geometry.array).sum()
    assert gaps(web.to_crs(27700).geometry.array) < 1.0  # square metres, whole district
    assert gaps(layer.geometry.simplify(10).array) > 10_000  # what naive simplify opens


@pytest.mark.parametrize("kwargs, message", [
    ({"measure": ("ward", "nope")}, "layer 'ward' has no column 'nope'"),
    ({"measure": ("ward", "empty")}, "column 'empty' of layer 'ward' has no values"),
    ({"measure": ("parish", "total")}, "no layer 'parish'"),
    ({"tiles": "javascript:alert(1)"}, "tiles must be"),
    ({"scheme": "random"}, "unknown scheme"),
])
def test_bad_map_options_are_one_line_errors(layers, kwargs, message):
    layer = layers["ward"].assign(total=range(30), empty=float("nan"))
    with pytest.raises(assetmap.AssetmapError, match=re.escape(message)):
        make_map({"ward": layer}, **{"measure": ("ward", "total"), **kwargs})


@pytest.mark.parametrize("metres", ["-5", "0", "nan", "inf"])
def test_a_coverage_distance_that_is_not_a_positive_number_is_a_one_line_error(
        data, tmp_path, metres):
    """``inf`` was an internal error (GEOS), the others an empty layer "within nan m"."""
    out = tmp_path / "m.html"
    result = CliRunner().invoke(cli, ["map", str(data / "bradford" / "schools.csv"),
                                      "--layers", "ward", "--coverage", f"School:{metres}",
                                      "--tiles", "none", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr == ("assetmap: error: coverage distance must be a number of metres "
                             f"above 0, not {float(metres)}\n")
    assert not out.exists()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_constant_measure_is_one_class(layers, scheme):
    fmap = make_map({"ward": layers["ward"].assign(total=3)}, measure=("ward", "total"),
                    scheme=scheme, tiles="none")
    assert [row["label"] for row in legend(fmap)["rows"]] == ["3"]


def test_ties_leave_only_classes_that_hold_areas(layers):
    total = [0] * 20 + [1, 2, 3, 5, 8, 9, 10, 12, 20, 30]
    fmap = make_map({"ward": layers["ward"].assign(total=total)}, measure=("ward", "total"),
                    tiles="none")
    rows = legend(fmap)["rows"]
    assert [row["label"] for row in rows] == ["0", "1–5", "6–30"]  # not "0", "0 – 0.6"
    assert {row["colour"] for row in rows} == set(re.findall(
        r'"fillColor": "(#\w+)"', fmap.get_root().render()))


def test_every_asset_has_a_layer_even_of_a_category_outside_the_taxonomy(layers):
    ward = layers["ward"]
    categories = ["Allotment", "School", None, "Allotment", "Beekeepers", "School", None]
    assets = gpd.GeoDataFrame(
        {"name": [f"Site {i}" for i in range(len(categories))], "category": categories,
         "type": "", "id": "", "postcode": "", "source": "user.csv"},
        geometry=ward.geometry.representative_point().to_numpy()[:len(categories)],
        crs=ward.crs)
    fmap = make_map({"ward": ward}, assets, tiles="none")  # the default taxonomy
    groups = [c for c in fmap._children.values() if isinstance(c, _AssetLayer)]
    assert [g.layer_name for g in groups] == [
        "School (2)", "Allotment (2)", "Beekeepers (1)", "Other (2)"]
    assert sum(len(g.columns["name"]) for g in groups) == len(assets)
    other = groups[-1].icon
    assert "#555555" in other["html"] and groups[0].icon != other
    assert groups[1].icon == groups[2].icon == other  # grey, location-dot


@pytest.fixture(scope="module")
def school_gaps(data, tmp_path_factory):
    """Bradford's school gap analysis by ward, and its table as read back for maps."""
    bradford = data / "bradford"
    result = assetmap.gap_analysis([bradford / "schools.csv"],
                                   population=bradford / "population_lsoa.csv",
                                   deprivation=bradford / "imd2019_lsoa.csv",
                                   by=["ward"], category="school")
    csv = assetmap.write_gaps(result, tmp_path_factory.mktemp("gaps") / "school_gaps.xlsx")[0]
    return result, assetmap.read_gap_table(csv)


def test_a_gap_measure_is_shaded_with_its_legend(data, school_gaps):
    result, gaps = school_gaps
    assert {"gap_score", "coverage_children_pct"} <= set(gaps.columns)
    fmap = map_registers([data / "bradford" / "schools.csv"], layers=["ward"], measures=gaps,
                         map_options=dict(measure=("ward", "gap_score"), tiles="none"))
    page = fmap.get_root().render()
    assert result.table["gap_score"].max() < 20  # Bradford's schools: low everywhere
    spec = legend(fmap)
    assert spec["title"] == "Gap score (0-100, higher = bigger gap)"
    assert "Within reach: 1,600 m" in spec["notes"]
    assert [row["label"] for row in spec["rows"]] == [
        "80 to 100 (highest)", "60 to under 80 (high)", "40 to under 60 (moderate)",
        "20 to under 40 (some need)", "0 to under 20 (low need)"]  # fixed: 2.8 is low need
    lowest = spec["rows"][-1]["colour"]
    assert set(re.findall(r'"fillColor": "([^"]+)"', page)) == {lowest}
    worst = result.table.sort_values("rank").iloc[0]
    feature = re.search(rf'"code": "{worst["code"]}", "name": "[^"]*", "value": "([^"]+)"',
                        page)  # the worst ward's own tooltip data
    assert float(feature[1]) == round(worst["gap_score"], 1)


def test_a_gap_table_of_other_layers_is_a_one_line_error_naming_layer_and_column(
        data, school_gaps):
    gaps = school_gaps[1].assign(layer="wards")  # not the map's layer name: no value matches
    with pytest.raises(assetmap.AssetmapError,
                       match="column 'gap_score' of layer 'ward' has no values to shade"):
        map_registers([data / "bradford" / "schools.csv"], layers=["ward"], measures=gaps,
                      map_options=dict(measure=("ward", "gap_score"), tiles="none"))


def test_a_gap_table_of_several_categories_is_refused(tmp_path):
    table = tmp_path / "gaps.csv"
    table.write_text("layer,code,category,gap_score\nward,A,School,1\nward,A,Library,2\n",
                     encoding="utf-8")
    with pytest.raises(assetmap.AssetmapError, match="covers 2 categories"):
        assetmap.read_gap_table(table)


def test_suppressed_areas_are_hatched_apart_from_missing_ones(layers):
    score = pd.Series([5.0, 35.0, 95.0] * 10, dtype=object)
    score[[1, 4]] = "[c]"  # assetmap.gaps.SUPPRESSED, as publish writes it
    score[[2]] = None
    ward = layers["ward"].assign(gap_score=score.to_numpy())
    fmap = make_map({"ward": ward}, measure=("ward", "gap_score"), tiles="none")
    rows = legend(fmap)["rows"]
    assert rows[-2:] == [{"hatch": True, "label": "Suppressed (small numbers)"},
                         {"colour": "#d9d9d9", "label": "No data"}]
    page = fmap.get_root().render()
    fills = re.findall(r'"fillColor": "([^"]+)"', page)
    assert fills.count("url(#assetmap-hatch)") == 1 and fills.count("#d9d9d9") == 1
    assert "suppressed (small numbers)" in page and "no data" in page  # the tooltips


def test_boundary_layers_have_human_names_and_their_own_colours(layers):
    ward = layers["ward"]
    fmap = make_map({name: ward for name in ["ward", "pcn", "cluster", "aan", "patch_2"]},
                    tiles="none", labels={"patch_2": "Patches {{7*7}}"})
    shown = [c for c in fmap._children.values()
             if isinstance(c, folium.GeoJson) and c.control]
    assert [c.layer_name for c in shown] == [
        "Wards", "Primary care networks", "Clusters", "Area Advisory Networks",
        "Patches {{7*7}}"]
    styles = [c.style_function({"id": "0"}) for c in shown]
    assert len({(s["color"], s["weight"]) for s in styles}) == 5


@pytest.fixture(scope="module")
def gap_page(data, school_gaps, tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """School gap scores by ward, published with small numbers suppressed (below 1,000),
    mapped with wards, constituencies and LSOAs; the published table."""
    published = school_gaps[0].published(1000)
    fmap = map_registers([data / "bradford" / "schools.csv"],
                         layers=["ward", "constituency", "lsoa"], measures=published,
                         map_options=dict(measure=("ward", "gap_score"), tiles="none"))
    return write_map(fmap, tmp_path_factory.mktemp("gap") / "gaps.html"), published


@pytest.fixture()
def small_screen(browser, gap_page):
    """The gap map on a 1280x720 screen; records errors and requests."""
    page = recorded_page(browser, gap_page[0].as_uri(), height=720)
    page.wait_for_selector(".assetmap-legend")
    yield page
    page.close()


def test_gap_map_legend_reads_in_words_with_suppressed_areas_hatched(small_screen, gap_page):
    page, published = small_screen, gap_page[1]
    assert page.errors == [] and page.requests == [gap_page[0].as_uri()]
    lines = page.locator(".assetmap-legend").inner_text().splitlines()
    assert lines[:6] == ["Gap score (0-100, higher = bigger gap)",
                         "Areas: Electoral wards (2004 warding, 2013 codes)",
                         "Category: School", "Within reach: 1,600 m",
                         "Darker = worse (higher values)", "Fixed classes"]
    assert lines[6] == "80 to 100 (highest)" and lines[-2] == "0 to under 20 (low need)"
    assert lines[-1] == "Suppressed (small numbers)"
    assert page.locator(".assetmap-legend .assetmap-hatched").count() == 1
    wards = published[published["layer"] == "ward"]
    hidden = (wards["gap_score"].astype(str) == "[c]").sum()
    assert 0 < hidden < len(wards)
    assert page.locator('path[fill="url(#assetmap-hatch)"]').count() == hidden
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "bradford_gap_score.png")


def test_legend_hides_with_its_layer(small_screen):
    wards = small_screen.locator(".leaflet-control-layers-overlays label").filter(
        has_text="Electoral wards").locator("input")
    wards.uncheck()
    assert small_screen.locator(".assetmap-legend").count() == 0
    wards.check()
    assert small_screen.locator(".assetmap-legend").count() == 1


def test_layer_list_fits_a_1280x720_screen(layers, browser, tmp_path):
    """Five boundary layers and 30 categories of assets, opened on a larger screen then
    made smaller: the list scrolls within the screen."""
    ward = layers["ward"]
    points = ward.geometry.representative_point()
    assets = gpd.GeoDataFrame(
        {"name": ward["name"], "category": [f"Kind {i}" for i in range(len(ward))],
         "type": "", "id": "", "postcode": "", "source": "user.csv"},
        geometry=points.to_numpy(), crs=ward.crs)
    fmap = make_map({name: layers[name] for name in ["ward", "constituency", "lsoa"]} |
                    {"pcn": ward, "cluster": ward}, assets, tiles="none")
    page = browser.new_page(viewport={"width": 1280, "height": 1024})
    page.goto(write_map(fmap, tmp_path / "many.html").as_uri())
    page.set_viewport_size({"width": 1280, "height": 720})
    control = page.locator(".leaflet-control-layers")
    box = control.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 720
    assert control.locator("label").count() == 30 + 5
    page.close()


def search(page, text: str, tip: str):
    """Type into the search, pick the tip: the popup (or None) it opens."""
    page.locator(".search-button").click()
    page.get_by_placeholder("Search assets, areas, postcodes").press_sequentially(text)
    page.locator(".search-tip").get_by_text(tip, exact=True).click()
    return page.locator(".leaflet-popup-content")


def test_search_finds_a_ward_by_name_and_switches_its_layer_on(small_screen, layers):
    ward = layers["ward"].sort_values("name").iloc[0]
    small_screen.locator(".leaflet-control-layers-overlays label").filter(
        has_text="Electoral wards").locator("input").uncheck()
    popup = search(small_screen, ward["name"], f"{ward['name']} · Ward {ward['code']}")
    assert popup.inner_text().splitlines() == [ward["name"], f"Ward · {ward['code']}"]
    assert small_screen.locator(".assetmap-legend").count() == 1  # the layer is back on


def test_search_finds_an_asset_s_postcode(small_screen, data):
    postcode = pd.read_csv(data / "bradford" / "schools.csv")["Postcode"].iloc[0]
    popup = search(small_screen, postcode[:5], f"{postcode} · postcode")
    assert popup.inner_text().splitlines()[0] == postcode
    assert small_screen.evaluate(MAP_ZOOM) == 17


#: The page's Leaflet map (folium names it map_<id>), and its zoom.
MAP = "window[Object.keys(window).find(k => k.startsWith('map_'))]"
MAP_ZOOM = f"{MAP}.getZoom()"


def test_area_names_show_when_zoomed_in_only(small_screen, layers):
    labels = small_screen.locator(".assetmap-label")
    assert small_screen.evaluate(MAP_ZOOM) <= 11 and labels.count() == 0
    small_screen.evaluate(f"{MAP}.setZoom(13, {{animate: false}})")
    labels.first.wait_for()
    assert sorted(labels.all_inner_texts()) == sorted(layers["ward"]["name"])  # not LSOAs
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    small_screen.screenshot(path=SCREENSHOTS / "bradford_ward_names.png")
