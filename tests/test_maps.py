"""The Bradford map, opened in headless Chromium: loads clean, offline, safe, under budget."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from playwright.sync_api import sync_playwright

import assetmap
from assetmap.maps import SCHEMES, _AssetLayer, make_map, write_map
from assetmap.pipeline import map_registers

HOSTILE = ["<img src=x onerror=alert(1)>", "${alert(1)}`", "</script><script>alert(2)</script>"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "out" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def registers(data, tmp_path_factory) -> list[Path]:
    """Real GP practices and schools, and 800 community groups at real postcodes, three of
    them named to attack the page."""
    folder = tmp_path_factory.mktemp("registers")
    postcodes = pd.read_csv(data / "bradford" / "postcodes_bd.csv")
    sample = postcodes[postcodes["lsoa11cd"].notna()].sample(800, random_state=1)
    names = [f"Group {i}" for i in range(len(sample) - len(HOSTILE))] + HOSTILE
    groups = pd.DataFrame({"Name": names, "Type": "Community group",
                           "Postcode": sample["postcode"].to_numpy()})
    groups.to_csv(folder / "groups.csv", index=False)
    return [data / "bradford" / "gp_practices.csv", data / "bradford" / "schools.csv",
            folder / "groups.csv"]


@pytest.fixture(scope="module")
def bradford_map(registers):
    return map_registers(registers, layers=["ward", "constituency", "lsoa"], map_options=dict(
        measure=("ward", "total"), coverage=("School", 800), tiles="none",
        title="Bradford assets"))


@pytest.fixture(scope="module")
def offline_page(bradford_map, tmp_path_factory) -> Path:
    return write_map(bradford_map, tmp_path_factory.mktemp("maps") / "offline.html",
                     offline=True)


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), "Debian chromium is needed: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_popup_by_search(page, name: str):
    """Search for an asset by the start of its name, pick it: the tip's text and the popup."""
    page.locator(".search-button").click()
    page.get_by_placeholder("Search assets by name").press_sequentially(name[:6])
    tip = page.locator(".search-tip").get_by_text(name, exact=True)
    tip.wait_for()
    text = tip.inner_text()
    tip.click()
    popup = page.locator(".leaflet-popup-content .assetmap-popup")
    popup.wait_for()
    return text, popup


def legend_rows(html: str) -> list[tuple[str, str]]:
    """The legend's (colour, range) rows in a rendered map."""
    return re.findall(r'background:(#\w+);margin-right:6px"></span>([^<]*)</div>', html)


@pytest.fixture()
def page(browser, offline_page):
    """The offline map, opened; records errors, requests and dialogs."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.errors, page.requests, page.dialogs = [], [], []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(offline_page.as_uri())
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
        "Category", "Type", "Postcode", "Ward", "Constituency", "LSOA", "Register"]  # no ID
    assert dict(rows)["Type"] == "Community group" and all(value for _, value in rows)


def test_popup_labels_go_into_the_page_once_per_layer_not_per_asset(offline_page):
    assert offline_page.read_text(encoding="utf-8").count('"Constituency"') == 3


def test_legend_shows_the_measure_and_its_classes(page):
    legend = page.locator(".assetmap-legend").inner_text()
    assert legend.startswith("total") and "quantiles" in legend
    assert len(re.findall(r"\d[\d,.]* – \d", legend)) == 5


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_show_as_literal_text_and_run_nothing(page, name):
    tip, popup = open_popup_by_search(page, name)
    assert tip == name
    assert popup.locator("b").inner_text() == name
    assert page.locator("img[src='x']").count() == 0
    assert page.dialogs == [] and page.errors == []


def test_bradford_map_with_1000_assets_stays_under_3_mb(bradford_map, offline_page, tmp_path):
    online = write_map(bradford_map, tmp_path / "online.html")
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


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_constant_measure_is_one_class(layers, scheme):
    fmap = make_map({"ward": layers["ward"].assign(total=3)}, measure=("ward", "total"),
                    scheme=scheme, tiles="none")
    assert [text for _, text in legend_rows(fmap.get_root().render())] == ["3"]


def test_ties_leave_only_classes_that_hold_areas(layers):
    total = [0] * 20 + [1, 2, 3, 5, 8, 9, 10, 12, 20, 30]
    html = make_map({"ward": layers["ward"].assign(total=total)}, measure=("ward", "total"),
                    tiles="none").get_root().render()
    rows = legend_rows(html)
    assert [text for _, text in rows] == ["0", "0 – 5.6", "5.6 – 30"]  # not "0 – 0"
    assert {colour for colour, _ in rows} == set(re.findall(r'"fillColor": "(#\w+)"', html))


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
    assert re.search(r'class="assetmap-legend".*?<b>gap_score</b>', page, re.DOTALL)
    worst = result.table.sort_values("rank").iloc[0]
    feature = re.search(rf'"code": "{worst["code"]}", "name": "[^"]*", "value": ([^,}}]+)',
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
