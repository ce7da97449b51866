"""The finder page: Bradford's registers and postcodes in one offline page, opened in headless
Chromium: the right nearest assets, keyboard only, hostile names as text, under budget."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import recorded_page, registers_with_groups

from assetmap import AssetmapError, load_taxonomy
from assetmap.cli.finder import finder_command
from assetmap.finder import DETAILS, finder_page, script_json
from assetmap.pipeline import validate_registers

HOSTILE = ["<img src=x onerror=alert(1)>", "${alert(1)}`", "</script><script>alert(2)</script>",
           "Sum {{7*7}}", "Cond {% if 1 %}x{% endif %}", "Note {#", "Open {{ here",
           "Line\u2028break <!--"]
BUDGET = 2_000_000
TITLE = "Finder {{7*7}} <b>bold</b>"


@pytest.fixture(scope="module")
def registers(data, tmp_path_factory) -> list[Path]:
    """Real GP practices and schools, and 800 community groups at real postcodes, some of
    them named to attack the page."""
    return registers_with_groups(data, tmp_path_factory.mktemp("registers"), HOSTILE, 2)


@pytest.fixture(scope="module")
def finder_file(registers, tmp_path_factory) -> Path:
    """The page as the command writes it."""
    path = tmp_path_factory.mktemp("finder") / "finder.html"
    result = CliRunner().invoke(finder_command, [*map(str, registers), "--title", TITLE,
                                                 "-o", str(path)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return path


@pytest.fixture(scope="module")
def assets(registers) -> gpd.GeoDataFrame:
    """The same registers located independently of the page."""
    return validate_registers(registers)[0].reset_index(drop=True)


@pytest.fixture(scope="module")
def embedded(finder_file) -> dict:
    text = finder_file.read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="finder-data">(.*?)</script>', text,
                      re.S)
    return json.loads(block.group(1))


def nearest_names(assets, gb_postcodes, postcode: str, categories=None, n: int = 10):
    """The names of the ``n`` nearest assets, by brute force (ties in register order)."""
    x, y, found = gb_postcodes.lookup(pd.Series([postcode]))
    assert found[0]
    chosen = assets if categories is None else assets[assets["category"].isin(categories)]
    distance = np.hypot(chosen.geometry.x - x[0], chosen.geometry.y - y[0]).to_numpy()
    order = np.lexsort((np.arange(len(chosen)), distance))[:n]
    return chosen["name"].to_numpy()[order].tolist()


def search(page, postcode: str) -> list[str]:
    page.locator("#postcode").fill(postcode)
    page.locator("#postcode").press("Enter")
    return page.locator("#results > li h3").evaluate_all("hs => hs.map(h => h.textContent)")


@pytest.fixture
def page(browser, finder_file):
    page = recorded_page(browser, finder_file.as_uri())
    yield page
    assert page.requests == [finder_file.as_uri()]  # no request but the file itself
    assert page.errors == [] and page.dialogs == []
    page.close()


def test_the_page_holds_the_study_areas_postcodes_under_budget(finder_file, embedded,
                                                               gb_postcodes, study_area):
    assert finder_file.stat().st_size < BUDGET
    codes = embedded["postcodes"]
    decoded = [outward + " " + inward[i:i + 3] for outward, inward
               in zip(codes["outward"], codes["inward"], strict=True)
               for i in range(0, len(inward), 3)]
    easting, northing = np.cumsum(codes["easting"]), np.cumsum(codes["northing"])
    x, y, found = gb_postcodes.lookup(pd.Series(decoded))
    assert found.all() and (easting == x).all() and (northing == y).all()
    inside = shapely.contains_xy(study_area, gb_postcodes.easting, gb_postcodes.northing)
    assert len(decoded) == inside.sum() > 10_000
    assert "BD7 1DP" in decoded and "LS1 1UR" not in decoded


def test_every_payload_is_inert_in_the_source(finder_file):
    text = finder_file.read_text(encoding="utf-8")
    assert text.count("</script>") == 2  # the data block's and the script's own
    assert "<img src=x" not in text and "alert(2)</script>" not in text
    assert "\u2028" not in text and "<!--" not in text
    assert "Sum 49" not in text and "Cond x" not in text and "Finder 49" not in text
    assert "<title>Finder {{7*7}} &lt;b&gt;bold&lt;/b&gt;</title>" in text


def test_script_json_cannot_end_its_element():
    text = script_json({"name": "</script><!-- & \u2028\u2029"})
    assert not re.search("[<>&\u2028\u2029]", text)
    assert json.loads(text) == {"name": "</script><!-- & \u2028\u2029"}


def test_details_come_from_the_registers_own_columns(embedded, assets):
    details = {d["label"]: d["values"] for d in embedded["assets"]["details"]}
    assert list(details) == list(DETAILS)
    gp = assets.index[assets["id"] == "B83002"][0]
    assert details["Address"][gp] == ("ILKLEY & WHARFEDALE MED, SPRINGS M.C, SPRINGS LANE, "
                                      "ILKLEY, LS29 8TQ")
    assert details["Contact"][gp] == "01943 604455"
    assert details["Opening times"][gp] == ""  # open_date is not an opening time
    group = assets.index[assets["name"] == "Group 0"][0]
    assert details["Opening times"][group] == "Tuesdays 1pm"


def test_a_postcode_gives_the_nearest_assets_in_order(page, assets, gb_postcodes):
    shown = search(page, "bd71dp")
    assert shown == nearest_names(assets, gb_postcodes, "BD7 1DP")
    assert page.locator("#postcode").input_value() == "BD7 1DP"
    assert page.locator("#status").inner_text().startswith("10 nearest to BD7 1DP")
    assert page.locator("#map circle").count() > 10 and page.locator("#map-figure").is_visible()
    page.locator("#count").select_option("20")
    shown = page.locator("#results > li h3").all_inner_texts()
    assert shown == nearest_names(assets, gb_postcodes, "BD7 1DP", n=20)


def test_keyboard_alone_finds_and_filters(page, assets, gb_postcodes):
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "postcode"
    page.keyboard.type("BD21 4LW")
    page.keyboard.press("Enter")
    assert page.locator("#results > li h3").all_inner_texts() == nearest_names(
        assets, gb_postcodes, "BD21 4LW")
    for _ in range(5):  # on to the first category's checkbox
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "checkbox":
            break
    first = page.evaluate("document.activeElement.parentElement.textContent")
    page.keyboard.press("Space")
    assert not page.evaluate("document.activeElement.checked")
    rest = [c for c in assets["category"].unique() if c != first]
    assert page.locator("#results > li h3").all_inner_texts() == nearest_names(
        assets, gb_postcodes, "BD21 4LW", rest)
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_show_as_text(page, registers, name):
    groups = pd.read_csv(registers[2])
    shown = search(page, groups.loc[groups["Name"] == name, "Postcode"].iloc[0])
    assert name in shown  # as text, exactly as typed
    titles = page.locator("#map title").evaluate_all("ts => ts.map(t => t.textContent)")
    assert any(title.endswith(f". {name}") for title in titles)  # the map's tips too
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("#results script, #map script").count() == 0


def test_a_typo_gets_one_character_suggestions(page):
    assert search(page, "BD7 1DO") == []
    assert "not one of the study area's postcodes" in page.locator("#status").inner_text()
    assert "BD7 1DP" in page.locator("#suggest button").all_inner_texts()
    search(page, "BD7 IDP")
    assert "does not look like a postcode" in page.locator("#status").inner_text()
    assert page.locator("#suggest button").first.inner_text() == "BD7 1DP"  # I for 1 first
    page.locator("#suggest button").first.click()
    assert page.locator("#results > li").count() == 10
    assert search(page, "LS1 1UR") == []  # Leeds: outside the study area
    assert "not one of the study area's postcodes" in page.locator("#status").inner_text()


def test_a_phone_shows_no_horizontal_scroll(browser, finder_file, registers):
    page = recorded_page(browser, finder_file.as_uri(), width=390, height=844)
    groups = pd.read_csv(registers[2]).set_index("Name")
    search(page, groups.loc[HOSTILE[2], "Postcode"])  # the longest name among the results
    assert page.locator("#results > li").count() == 10
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("#map").bounding_box()["width"] <= 390
    assert page.errors == [] and page.requests == [finder_file.as_uri()]
    page.close()


def test_print_shows_results_not_the_form(page):
    search(page, "BD7 1DP")
    page.emulate_media(media="print")
    assert not page.locator("#finder").is_visible()
    assert page.locator("#results > li").first.is_visible()
    assert page.locator("#map").is_visible()


def test_landmarks_and_labels(page):
    assert page.locator("header").count() == 1 and page.locator("main").count() == 1
    assert page.get_by_label("Postcode").count() == 1
    assert page.get_by_role("group", name="Categories").get_by_role("checkbox").count() == 3
    assert page.locator("#status").get_attribute("aria-live") == "polite"
    assert page.locator("h1").inner_text() == TITLE


def test_no_postcodes_is_one_line_error(assets):
    empty = pd.DataFrame({"postcode": ["BD7 1DP"], "easting": [np.nan], "northing": [np.nan]})
    with pytest.raises(AssetmapError, match="no postcodes"):
        finder_page(assets, empty, taxonomy=load_taxonomy())


def test_help_has_examples():
    result = CliRunner().invoke(finder_command, ["--help"])
    assert result.exit_code == 0 and "assetmap finder gp_practices.csv" in result.output
