"""Shared fixtures: the open-data bundle (never copied), loaded layers, and what tests need.

A test that needs the data bundle or the browser is marked ``data`` or ``browser`` (by hand,
or here from the fixtures it uses). When that is missing it is skipped, except on CI
(``CI`` set and not ``false``/``0``), where it fails: CI must run every test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import assetmap

#: Debian's headless Chromium, which the map tests drive through Playwright.
CHROMIUM = Path("/usr/bin/chromium")
#: Jinja source typed as data: shown as typed, never evaluated (no 49, no "x", no pid).
TEMPLATES = ["Sum {{7*7}}", "Cond {% if 1 %}x{% endif %}", "Note {#", "Open {{ here",
             "Pid {{ cycler.__init__.__globals__.os.getpid() }}"]
EVALUATED = ["Sum 49", "Cond x", f"Pid {os.getpid()}"]
#: Markup and script typed as data: shown as text, never run.
MARKUP = ["<img src=x onerror=alert(1)>", "${alert(1)}`", "</script><script>alert(2)</script>"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: Marker -> fixture whose users get the marker.
_MARKED_BY_FIXTURE = {"data": "data", "browser": "browser"}


def _missing(marker: str) -> str | None:
    """Why the requirement a marker names is not met here, or None."""
    if marker == "data":
        folder = assetmap.data_dir()
        if not (folder / "bradford" / "wards.geojson").exists():
            return f"open-data bundle not found at {folder}; set ASSETMAP_DATA_DIR"
    if marker == "browser" and not CHROMIUM.exists():
        return f"{CHROMIUM} not found: run tests/run.sh (installs Debian's chromium)"
    return None


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        for marker, fixture in _MARKED_BY_FIXTURE.items():
            if fixture in item.fixturenames:
                item.add_marker(marker)


def pytest_runtest_setup(item) -> None:
    for marker in _MARKED_BY_FIXTURE:
        if item.get_closest_marker(marker) and (reason := _missing(marker)):
            if _on_ci():
                pytest.fail(f"{reason} (required on CI)", pytrace=False)
            pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def postcode_cache(tmp_path_factory) -> Path:
    """Postcode indexes built by the tests go to a temporary folder, not the user's home."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASSETMAP_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium through Playwright (no network is needed or used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def registers_with_groups(data: Path, folder: Path, hostile: list[str], seed: int
                          ) -> list[Path]:
    """Real GP practices and schools, and 800 community groups at real Bradford postcodes
    (``seed`` picks them), the last of them named ``hostile``, with opening times."""
    import pandas as pd

    postcodes = pd.read_csv(data / "bradford" / "postcodes_bd.csv")
    sample = postcodes[postcodes["lsoa11cd"].notna()].sample(800, random_state=seed)
    names = [f"Group {i}" for i in range(len(sample) - len(hostile))] + hostile
    groups = pd.DataFrame({"Name": names, "Type": "Community group",
                           "Postcode": sample["postcode"].to_numpy(),
                           "Opening times": [f"Tuesdays {i % 12 + 1}pm" for i in range(800)]})
    groups.to_csv(folder / "groups.csv", index=False)
    return [data / "bradford" / "gp_practices.csv", data / "bradford" / "schools.csv",
            folder / "groups.csv"]


def recorded_page(browser, url: str, *, width: int = 1280, height: int = 800):
    """A new page at ``url`` recording console errors, page errors, every request and
    dialogs (dismissed) in ``page.errors``, ``page.requests`` and ``page.dialogs``."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.errors, page.requests, page.dialogs = [], [], []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    return page


@pytest.fixture(scope="session")
def data() -> Path:
    return assetmap.data_dir()


@pytest.fixture(scope="session")
def bradford(data) -> assetmap.BoundarySet:
    return assetmap.load_boundary_set("bradford", data)


@pytest.fixture(scope="session")
def layers(bradford) -> dict:
    return {name: assetmap.load_layer(bradford.spec(name)) for name in bradford.layers}


@pytest.fixture(scope="session")
def study_area(layers):
    return assetmap.outline(layers["ward"])


@pytest.fixture(scope="session")
def gb_postcodes(bradford) -> assetmap.PostcodeIndex:
    return assetmap.PostcodeIndex.from_file(bradford.postcodes)


@pytest.fixture(scope="session")
def bd_postcodes(data) -> assetmap.PostcodeIndex:
    return assetmap.PostcodeIndex.from_file(data / "bradford" / "postcodes_bd.csv", cache=False)
