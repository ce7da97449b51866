"""Open Referral UK registers: ORUK 1, HSDS 3 and "partial" JSON, page folders, endpoints.

The fixtures in tests/data/oruk were built by hand from the published schemas
(OpenReferralUK/uk-profile, openreferral/specification), each carrying a quirk seen in
real feeds: byte-order marks, [0, 0], a masked address, an O-for-0 postcode, one venue
under two location IDs, online-only services, a service at a location on two pages.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

import assetmap
from assetmap import AssetmapError, read_register
from assetmap.cli.main import cli
from assetmap.oruk import read_oruk

FIXTURES = Path(__file__).parent / "data" / "oruk"
PAGES = sorted((FIXTURES / "pages").glob("*.json"))


def _json(path: Path):
    return json.loads(path.read_bytes())


@pytest.fixture
def validate(data, bradford, study_area):
    """Locate registers against Bradford (the district's postcodes, its study area)."""
    def run(paths, **options):
        return assetmap.validate_registers(
            paths, boundaries=bradford, postcodes=data / "bradford" / "postcodes_bd.csv",
            study_area=study_area, **options)
    return run


class _Pages(BaseHTTPRequestHandler):
    """Serves ``server.routes[(path, page parameter)]``: bytes, or an HTTP status."""

    def do_GET(self):
        url = urlsplit(self.path)
        body = self.server.routes.get((url.path, parse_qs(url.query).get("page", [""])[0]), 404)
        if isinstance(body, int):
            self.send_error(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """Start a server on 127.0.0.1 for the routes given; it stops after the test (or after
    60 s, whichever is first)."""
    servers, timers = [], []

    def start(routes: dict) -> str:
        server = HTTPServer(("127.0.0.1", 0), _Pages)
        server.routes = routes
        threading.Thread(target=server.serve_forever, daemon=True).start()
        timers.append(threading.Timer(60, server.shutdown))
        timers[-1].daemon = True
        timers[-1].start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, timer in zip(servers, timers, strict=True):
        timer.cancel()
        server.shutdown()
        server.server_close()


def _page(data) -> bytes:
    return json.dumps(data).encode()


def _records(source: Path) -> int:
    """Services at locations, plus services with none, counted in the raw JSON."""
    pages = [_json(f) for f in sorted(source.glob("*.json"))] if source.is_dir() \
        else [_json(source)]
    services = [s for page in pages for s in page.get("content", page.get("contents"))]
    return sum(max(1, len(s.get("service_at_locations", [])) + len(s.get("locations", [])))
               for s in services)


@pytest.mark.parametrize("name, ids", [
    ("v1_services.json", ["v1-s1/v1-l1", "v1-s1/v1-l2", "v1-s2/v1-l3", "v1-s3/v1-l4", "v1-s4"]),
    ("hsds3_services.json", ["h3-s1/h3-l1", "h3-s1/h3-l1b", "h3-s1/h3-l2", "h3-s2/h3-l3"]),
    ("partial_services.json", ["p-1/p-l1", "p-2"]),
])
def test_each_shape_gives_one_row_per_service_at_a_location(name, ids):
    register = read_register(FIXTURES / name)
    frame = register.frame
    assert list(frame["id"]) == ids
    assert list(frame.index) == list(range(1, len(ids) + 1))
    assert register.roles == {role: role for role in
                              ("id", "name", "type", "postcode", "latitude", "longitude")}
    assert frame.map(lambda cell: isinstance(cell, str)).all().all()  # text, as every register


def test_fields_of_each_shape_are_read():
    v1 = read_register(FIXTURES / "v1_services.json").frame.loc[1]  # starts with a BOM
    assert v1[["name", "type", "age_range", "schedule", "postcode", "latitude", "longitude",
               "phone", "organisation", "location"]].tolist() == [
        "Little Stars Family Hub", "Family hub; Parenting support", "0-5",
        "MO,TU,WE,TH,FR 09:00-17:00", "BD1 1HY", "53.792313", "-1.753292", "01274 000000",
        "Bradford Council", "Little Stars Centre"]
    h3 = read_register(FIXTURES / "hsds3_services.json").frame
    assert h3.loc[1, ["type", "age_range", "schedule", "address"]].tolist() == [
        "Youth club", "11-19", "Tuesdays 6pm to 9pm", "5 Example Row, Bradford"]
    partial = read_register(FIXTURES / "partial_services.json").frame.loc[1]  # BOM, GeoJSON
    assert partial[["latitude", "longitude", "postcode", "address", "age_range"]].tolist() == [
        "53.797098", "-1.738022", "BD3 9AH", "3 Example Lane, Bradford", "0-19"]


def test_odd_locations_are_rows_with_a_note_never_dropped():
    v1 = read_register(FIXTURES / "v1_services.json").frame
    assert v1.loc[3, ["latitude", "longitude"]].tolist() == ["0", "0"]
    assert "[0, 0]" in v1.loc[3, "note"]
    assert v1.loc[5, ["latitude", "longitude", "postcode"]].tolist() == ["", "", ""]
    assert "online-only" in v1.loc[5, "note"]
    h3 = read_register(FIXTURES / "hsds3_services.json").frame
    assert h3.loc[3, ["latitude", "longitude", "postcode"]].tolist() == ["", "", ""]
    assert h3.loc[3, "note"].startswith("virtual location")
    assert h3.loc[4, "note"] == ("coordinates rounded to 2 decimal places: approximate; "
                                 "postcode district only: the address is masked")


def test_plain_geojson_is_still_read_by_ogr(tmp_path):
    path = tmp_path / "venues.json"
    gpd.GeoDataFrame({"Name": ["Hub"]}, geometry=[shapely.Point(-1.75, 53.79)],
                     crs="EPSG:4326").to_file(path, driver="GeoJSON")
    register = read_register(path)
    assert isinstance(register.frame, gpd.GeoDataFrame) and "note" not in register.frame


@pytest.mark.parametrize("name, statuses, reasons", [
    ("v1_services.json", ["located", "located", "rejected", "rejected", "rejected"],
     ["", "", "latitude/longitude not in Great Britain ('0', '0')",
      "malformed postcode 'BD10 OAA' (did you mean BD10 0AA?)",
      "no location: no coordinates or postcode"]),
    ("hsds3_services.json", ["located", "rejected", "rejected", "located"],
     ["", "same name and location as row 1", "no location: no coordinates or postcode", ""]),
    ("partial_services.json", ["located", "rejected"],
     ["", "no location: no coordinates or postcode"]),
    ("pages", ["located", "located", "rejected", "located", "rejected"],
     ["", "", "same ID as row 2", "", "no location: no coordinates or postcode"]),
])
def test_every_record_is_located_or_rejected_in_the_audit(validate, name, statuses, reasons):
    assets, audit = validate([FIXTURES / name])
    assert list(audit["status"]) == statuses
    assert list(audit["reason"]) == reasons
    assert len(assets) == statuses.count("located")
    assert list(audit["row"]) == list(range(1, len(statuses) + 1))
    assert len(audit) == _records(FIXTURES / name)  # located + rejected == every record


def test_placeholder_coordinates_fall_back_to_the_postcode(validate):
    _, audit = validate([FIXTURES / "v1_services.json"])
    assert audit.loc[1, "method"] == "postcode"
    assert audit.loc[1, "notes"] == ("latitude/longitude not in Great Britain ('0', '0'); "
                                     "located by postcode; type 'Family hub; Parenting "
                                     "support' read as 'Family hub site'")
    _, audit = validate([FIXTURES / "v1_services.json"], fix_postcodes=True)
    assert audit.loc[3, "status"] == "located"
    assert "read as BD10 0AA" in audit.loc[3, "notes"]


def test_taxonomy_terms_map_to_categories(validate):
    assets, _ = validate([FIXTURES / "v1_services.json", FIXTURES / "hsds3_services.json",
                          FIXTURES / "partial_services.json", FIXTURES / "pages"])
    category = dict(zip(assets["id"], assets["category"], strict=True))
    assert category["v1-s1/v1-l1"] == "Family hub site"  # "Family hub; Parenting support"
    assert category["h3-s1/h3-l1"] == "Youth provision"
    assert category["h3-s2/h3-l3"] == "Family hub site"
    assert category["p-1/p-l1"] == "Family hub site"
    assert category["pg-a/pg-la"] == "Library"
    assert {"age_range", "schedule", "note"} <= set(assets.columns)
    assert assets.set_index("id").loc["v1-s1/v1-l1", "age_range"] == "0-5"


def test_validate_command_reports_every_record(data, tmp_path):
    report = tmp_path / "report.csv"
    result = CliRunner().invoke(cli, [
        "validate", str(FIXTURES / "v1_services.json"), str(FIXTURES / "partial_services.json"),
        "--postcodes", str(data / "bradford" / "postcodes_bd.csv"), "-r", str(report)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(report, encoding="utf-8-sig", keep_default_na=False)
    assert len(table) == 5 + 2
    assert table["status"].tolist().count("located") == 3
    assert "did you mean BD10 0AA?" in " ".join(table["reason"])
    assert "v1_services.json" in result.stderr and "partial_services.json" in result.stderr


def test_a_folder_of_pages_and_a_paged_endpoint_give_the_same_rows(serve):
    base = serve({("/services", str(n)): path.read_bytes() for n, path in enumerate(PAGES, 1)}
                 | {("/services", ""): PAGES[0].read_bytes()})
    folder = read_register(FIXTURES / "pages").frame
    endpoint = read_register(base + "/services").frame
    assert endpoint["page"].tolist() == ["1", "1", "2", "2", "2"]
    assert endpoint.loc[3, "note"] == "listed again (first on page 1)"
    assert folder.loc[3, "note"] == "listed again (first in page1.json)"
    columns = [c for c in folder.columns if c not in ("page", "note")]
    pd.testing.assert_frame_equal(endpoint[columns], folder[columns])


def test_a_paged_endpoint_is_located_through_the_pipeline(serve, validate, data, tmp_path):
    base = serve({("/services", str(n)): path.read_bytes() for n, path in enumerate(PAGES, 1)})
    assets, audit = validate([base + "/services?page=1"])
    assert audit["reason"].tolist() == ["", "", "same ID as row 2", "",
                                        "no location: no coordinates or postcode"]
    assert set(assets["source"]) == {"services?page=1"}
    report = tmp_path / "report.csv"
    result = CliRunner().invoke(cli, [
        "validate", base + "/services?page=1", "-r", str(report),
        "--postcodes", str(data / "bradford" / "postcodes_bd.csv")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(report, encoding="utf-8-sig", keep_default_na=False)
    assert table["status"].tolist() == audit["status"].tolist()


def test_hsds3_and_zero_based_pages_and_next_links_are_followed(serve):
    contents = _json(FIXTURES / "hsds3_services.json")["contents"]
    hsds = {("/hsds", str(n)): _page({"total_items": 2, "total_pages": 2, "page_number": n,
                                      "size": 1, "contents": [contents[n - 1]]})
            for n in (1, 2)}
    spring = {("/partial", p): _page({"number": n, "size": 1, "totalPages": 2,
                                      "totalElements": 2, "content": [contents[n]]})
              for p, n in (("", 0), ("1", 1))}
    linked = {("/linked", ""): _page({"items": [contents[0]], "next": "/linked?page=x"}),
              ("/linked", "x"): _page({"items": [contents[1]]})}
    base = serve(hsds | spring | linked)
    for path in ("/hsds?page=1", "/partial", "/linked"):
        frame = read_register(base + path).frame
        assert frame["service_id"].tolist() == ["h3-s1", "h3-s1", "h3-s1", "h3-s2"], path


def test_endpoint_failures_are_one_line_errors_naming_url_and_page(serve):
    first = _page({"totalPages": 3, "number": 1, "content": [{"id": "a", "locations": []}]})
    base = serve({("/broken", "1"): first, ("/broken", "2"): 500,
                  ("/garbled", "1"): first, ("/garbled", "2"): b"<html>oops",
                  ("/endless", ""): _page({"totalPages": 10**6, "number": 1,
                                           "content": [{"id": "a", "locations": []}]})}
                 | {("/endless", str(n)): _page({"totalPages": 10**6, "number": n, "content": [
                     {"id": "a", "locations": []}]}) for n in range(2, 5)})
    for path, expected in (("/broken?page=1", "page 2 (http://127.0.0.1"),
                           ("/broken?page=1", "HTTP error 500"),
                           ("/garbled?page=1", "page 2"), ("/garbled?page=1", "not JSON")):
        with pytest.raises(AssetmapError) as error:
            read_register(base + path)
        assert expected in str(error.value) and "\n" not in str(error.value)
        assert str(error.value).startswith(base + path[:-7])
    with pytest.raises(AssetmapError, match="more than 3 pages"):
        read_oruk(base + "/endless", max_pages=3)
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(AssetmapError, match=r"page 1 .*: cannot fetch \("):
        read_register(f"http://127.0.0.1:{port}/services")


def test_locations_without_ids_are_numbered_not_merged(tmp_path):
    path = tmp_path / "services.json"
    path.write_text(json.dumps([{"id": "s", "name": "Hub", "locations": [
        {"postal_code": "BD1 1HY"}, {"postal_code": "BD3 9AH"}]}]), encoding="utf-8")
    frame = read_register(path).frame
    assert frame["id"].tolist() == ["s/#1", "s/#2"]
    assert frame["location_id"].tolist() == ["", ""] and frame["note"].tolist() == ["", ""]


def test_bad_sources_are_one_line_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(AssetmapError, match=r"is a folder holding no \.json pages"):
        read_register(tmp_path / "empty")
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "page1.json").write_text('{"features": "no"}', encoding="utf-8")
    with pytest.raises(AssetmapError, match=r"page page1\.json is not Open Referral"):
        read_register(tmp_path / "mixed")
    with pytest.raises(AssetmapError, match="a sheet or header row is not chosen"):
        read_register(FIXTURES / "v1_services.json", sheet="1")
    empty = tmp_path / "none.json"
    empty.write_text('{"content": [], "totalPages": 0}', encoding="utf-8")
    with pytest.raises(AssetmapError, match="holds no Open Referral services"):
        read_oruk(empty)
