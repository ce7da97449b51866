"""Reading registers: encodings, delimiters, title rows, workbooks, column roles, bad files."""

from __future__ import annotations

import random
from datetime import datetime

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyproj
import pytest
import shapely

import assetmap
from assetmap import AssetmapError, read_register, registers

TEXT = ("Name,Type,Postcode\r\n"
        "Café Central,Community centre,BD7 1DP\r\n"
        "St Mary’s Church,Church,BD3 9HD\r\n")


def _one_line_error(path, **options) -> str:
    with pytest.raises(AssetmapError) as error:
        read_register(path, **options)
    message = str(error.value)
    assert message.startswith(str(path)) and "\n" not in message
    return message


@pytest.mark.parametrize("encoding, expected", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252"),
    ("utf-16", "utf-16")])  # Excel's "Unicode Text" (was refused as "contains NUL bytes")
def test_csv_in_utf8_utf8_with_bom_and_windows_1252_keeps_accents_and_curly_apostrophes(
        tmp_path, encoding, expected):
    path = tmp_path / "venues.csv"
    path.write_bytes(TEXT.encode(encoding))
    register = read_register(path)
    assert register.encoding == expected
    assert list(register.frame.columns) == ["Name", "Type", "Postcode"]  # no BOM in the header
    assert list(register.frame["Name"]) == ["Café Central", "St Mary’s Church"]


def test_a_quote_left_open_is_an_error_naming_its_row_not_rows_silently_lost(tmp_path):
    """A cell starting with a quote that is never closed swallowed every row below it (row
    3 vanished from the audit)."""
    path = tmp_path / "venues.csv"
    path.write_text('Name,Postcode\n"Hall,BD1 1HY\nHub,BD7 1DP\n', encoding="utf-8")
    with pytest.raises(AssetmapError) as error:
        read_register(path)
    assert str(error.value) == (f"{path}, row 2: a quote opened in this row is never closed, "
                                "so every row below would be read into one cell: close or "
                                "remove it")


def test_a_stray_quote_inside_a_cell_is_read_as_typed(tmp_path):
    path = tmp_path / "venues.csv"
    path.write_text('Name,Postcode\n"Hall" annex,BD1 1HY\nSt Mary"s,BD7 1DP\n',
                    encoding="utf-8")
    assert read_register(path).frame["Name"].tolist() == ["Hall annex", 'St Mary"s']


def test_semicolon_delimited_csv_is_split_on_semicolons(tmp_path):
    path = tmp_path / "venues.csv"
    path.write_text("Name;Type;Postcode\nHall, the big one;Community centre;BD7 1DP\n",
                    encoding="utf-8")
    register = read_register(path)
    assert list(register.frame.columns) == ["Name", "Type", "Postcode"]
    assert register.frame.loc[2].tolist() == ["Hall, the big one", "Community centre", "BD7 1DP"]


def test_title_and_blank_rows_above_the_header_are_skipped_and_rows_keep_spreadsheet_numbers(
        tmp_path):
    path = tmp_path / "venues.csv"
    path.write_text("Community venues 2025,,\n,,\n\nName,Type,Postcode\n"
                    "Hall,Community centre,BD7 1DP\n,,\nLibrary,Library,BD1 1AF\n,,\n",
                    encoding="utf-8")
    register = read_register(path)
    assert register.header_row == 4
    assert list(register.frame.columns) == ["Name", "Type", "Postcode"]
    assert list(register.frame.index) == [5, 6, 7]  # blank row 6 kept, trailing blank dropped
    assert register.frame.loc[7, "Name"] == "Library"


@pytest.fixture()
def workbook(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active.append(["Read me first"])
    sheet = book.create_sheet("Venues")
    sheet.append(["Community venues register 2025"])
    sheet.append([])
    sheet.append(["Site Name", "Category", "Post Code", "Easting", "Northing", "ID"])
    sheet.append(["Café Central", "Community centre", "BD7 1DP", 415660, 432832.0, 7])
    sheet.append(["Keighley Hub", "Family hub", "BD21 3RU", 406000.5, 441000, "V2"])
    path = tmp_path / "venues.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize("sheet", ["Venues", 2, "2"])
def test_xlsx_sheet_chosen_by_name_or_number_is_read_below_its_title_rows(workbook, sheet):
    register = read_register(workbook, sheet=sheet)
    assert register.header_row == 3 and list(register.frame.index) == [4, 5]
    assert register.frame.loc[4].tolist() == [
        "Café Central", "Community centre", "BD7 1DP", "415660", "432832", "7"]
    assert register.frame.loc[5, "Easting"] == "406000.5"
    assert register.roles["postcode"] == "Post Code" and register.encoding is None


def test_xlsx_first_sheet_is_read_by_default(workbook):
    assert list(read_register(workbook).frame.columns) == ["Read me first"]


def test_unknown_xlsx_sheet_is_an_error_listing_the_sheets(workbook):
    message = _one_line_error(workbook, sheet="Assets")
    assert message == f"{workbook}: no sheet 'Assets'; sheets are Notes, Venues"


@pytest.mark.parametrize("header, role", [
    ("Name", "name"), ("Site Name", "name"), ("Type", "type"), ("Category", "type"),
    ("Postcode", "postcode"), ("Post Code", "postcode"), ("Lat", "latitude"),
    ("Latitude", "latitude"), ("Long", "longitude"), ("Lng", "longitude"),
    ("Longitude", "longitude"), ("Easting", "easting"), ("X", "easting"),
    ("Northing", "northing"), ("Y", "northing"), ("ID", "id"),
])
def test_roles_are_detected_from_the_header_names_people_use(header, role):
    assert assetmap.detect_roles(["Notes", header]) == {role: header}


def test_roles_of_a_typical_register_header(tmp_path):
    path = tmp_path / "venues.csv"
    path.write_text("ID,Site Name,Category,Post Code,Lat,Lng,Notes\n"
                    "V1,Hall,Library,BD7 1DP,53.79,-1.76,\n", encoding="utf-8")
    assert read_register(path).roles == {
        "id": "ID", "name": "Site Name", "type": "Category", "postcode": "Post Code",
        "latitude": "Lat", "longitude": "Lng"}


def test_explicit_roles_override_detection(tmp_path):
    path = tmp_path / "venues.csv"
    path.write_text("Name,Venue,Postcode,Contact postcode\nA,Hall,BD7 1DP,BD1 1AF\n",
                    encoding="utf-8")
    register = read_register(path, roles={"name": "Venue", "postcode": "Contact postcode"})
    assert register.roles["name"] == "Venue" and register.roles["postcode"] == "Contact postcode"
    assert register.column("postcode").tolist() == ["BD1 1AF"]


def test_explicit_role_naming_a_missing_column_is_an_error_naming_file_and_column(tmp_path):
    path = tmp_path / "venues.csv"
    path.write_text("Name,Postcode\nA,BD7 1DP\n", encoding="utf-8")
    message = _one_line_error(path, roles={"type": "Kind"})
    assert "column 'Kind'" in message and "columns are Name, Postcode" in message


@pytest.mark.parametrize("name, make, expected", [
    ("missing.csv", lambda path: None, "file not found"),
    ("folder.csv", lambda path: path.mkdir(), "is a folder"),
    ("old.xls", lambda path: path.write_bytes(b"\xd0\xcf\x11\xe0"), "save it as .xlsx"),
    ("corrupt.xlsx", lambda path: path.write_bytes(random.Random(1).randbytes(4096)),
     "cannot read as an Excel workbook"),
    ("binary.csv", lambda path: path.write_bytes(b"Name,Type\x00\x01\nA\x00,B\n"),
     "contains NUL bytes"),
])
def test_unreadable_files_are_one_line_errors_starting_with_the_path(
        tmp_path, name, make, expected):
    path = tmp_path / name
    make(path)
    assert expected in _one_line_error(path)


def test_geojson_register_is_read_as_text_with_geometry_in_british_national_grid(tmp_path):
    path = tmp_path / "hubs.geojson"
    gpd.GeoDataFrame({"Name": ["Hub"], "Category": ["Family hub"], "Ref": [12]},
                     geometry=[shapely.Point(-1.76, 53.79)], crs=4326).to_file(path)
    register = read_register(path)
    assert register.frame.crs.to_epsg() == 27700
    assert register.frame.loc[1, "Ref"] == "12"  # feature number, text as typed
    assert register.roles == {"id": "Ref", "name": "Name", "type": "Category"}
    expected = pyproj.Transformer.from_crs(4326, 27700, always_xy=True).transform(-1.76, 53.79)
    assert register.frame.geometry[1].distance(shapely.Point(expected)) < 0.01


@pytest.mark.parametrize("text, delimiter, expected", [
    ("Name,Opening hours,Postcode\n"
     "Hall,Mon 9-5; Tue 9-5; Wed 9-5; Thu 9-5; Fri 9-5,BD7 1DP\n"
     "Library,Mon 9-1; Tue 9-1; Wed 9-1; Thu 9-1; Fri 9-1,BD1 1AF\n",
     ",", ["Hall", "Mon 9-5; Tue 9-5; Wed 9-5; Thu 9-5; Fri 9-5", "BD7 1DP"]),
    ("Name;Address;Postcode\n"
     "Hall;Unit 1, 2 High St, Little Horton, Bradford, West Yorkshire;BD7 1DP\n"
     "Library;Princes Way, City Centre, Bradford, West Yorkshire;BD1 1AF\n",
     ";", ["Hall", "Unit 1, 2 High St, Little Horton, Bradford, West Yorkshire", "BD7 1DP"]),
    ("Venues\nName\tPostcode\tNotes\nHall\tBD7 1DP\ta, b, c, d\n",
     "\t", ["Hall", "BD7 1DP", "a, b, c, d"]),
], ids=["semicolons in a comma file", "commas in a semicolon file", "tab file with a title"])
def test_the_delimiter_is_the_one_that_splits_the_lines_consistently(
        tmp_path, text, delimiter, expected):
    path = tmp_path / "venues.csv"
    path.write_text(text, encoding="utf-8")
    register = read_register(path)
    assert register.frame.iloc[0].tolist() == expected
    assert register.delimiter == delimiter


def test_ogr_integers_with_gaps_and_dates_are_read_as_typed(tmp_path):
    path = tmp_path / "hubs.gpkg"
    gpd.GeoDataFrame(
        {"Ref": [107301, None, 3], "Size": [1.5, None, 2.0], "Name": [" Hub ", None, "C"],
         "Opened": pd.to_datetime(["2020-01-05", "2021-02-03 10:30", None], format="ISO8601")},
        geometry=[shapely.Point(-1.76, 53.79)] * 3, crs=4326).to_file(path)
    frame = read_register(path).frame
    assert frame["Ref"].tolist() == ["107301", "", "3"]
    assert frame["Size"].tolist() == ["1.5", "", "2"]
    assert frame["Name"].tolist() == ["Hub", "", "C"]
    assert frame["Opened"].tolist() == ["2020-01-05", "2021-02-03T10:30:00", ""]


def test_xlsx_dates_are_iso_dates_and_merged_body_cells_keep_their_value(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Community venues register 2025"])
    sheet.merge_cells("A1:D1")  # a title across the columns: not copied along the row
    sheet.append(["Name", "Type", "Postcode", "Opened"])
    sheet.append(["Hall", "Community centre", "BD7 1DP", datetime(2020, 1, 5)])
    sheet.append(["Annexe", None, "BD7 1DQ", datetime(2021, 2, 3, 10, 30)])
    sheet.append(["Library", "Library", "BD1 1AF", None])
    sheet.merge_cells("B3:B4")
    path = tmp_path / "venues.xlsx"
    book.save(path)
    register = read_register(path)
    assert register.header_row == 2 and register.frame.columns[0] == "Name"
    assert register.frame["Type"].tolist() == ["Community centre", "Community centre", "Library"]
    assert register.frame["Opened"].tolist() == ["2020-01-05", "2021-02-03T10:30:00", ""]


@pytest.fixture()
def two_layers(tmp_path):
    path = tmp_path / "assets.gpkg"
    for layer, name in (("hubs", "Hub"), ("libraries", "Library")):
        gpd.GeoDataFrame({"Name": [name]}, geometry=[shapely.Point(-1.76, 53.79)],
                         crs=4326).to_file(path, layer=layer)
    return path


def test_a_multi_layer_register_needs_a_layer_and_the_error_lists_them(two_layers, recwarn):
    message = _one_line_error(two_layers)
    assert message == f"{two_layers}: has several layers (hubs, libraries); choose one with --sheet"
    assert _one_line_error(two_layers, sheet="shops") == (
        f"{two_layers}: no layer 'shops'; layers are hubs, libraries")
    assert not recwarn.list


@pytest.mark.parametrize("layer", ["libraries", 2, "2"])
def test_a_layer_is_chosen_by_name_or_number_without_warnings(two_layers, layer, recwarn,
                                                              capfd):
    assert read_register(two_layers, sheet=layer).frame["Name"].tolist() == ["Library"]
    assert not recwarn.list and capfd.readouterr().err == ""


def test_describe_roles_names_each_role_column_and_marks_word_matches(tmp_path):
    path = tmp_path / "venues.csv"
    path.write_text("Ref,Contact name,Post Code,Notes\nV1,Hall,BD7 1DP,\n", encoding="utf-8")
    assert registers.describe_roles(read_register(path)) == (
        "id: Ref, name: Contact name (no exact match), postcode: Post Code")


@pytest.mark.parametrize("header, role", [
    ("Type of Provision", "type"), ("Provision Type", "type"), ("Service Type", "type"),
    ("Type of venue", "type"), ("Site Ref", "id"), ("Venue", "name"), ("Premises", "name"),
    ("Address Postcode", "postcode"),
])
def test_header_names_from_the_data_table_take_their_role_exactly(tmp_path, header, role):
    path = tmp_path / "venues.csv"
    path.write_text(f"Notes,{header}\n,x\n", encoding="utf-8")
    register = read_register(path)
    assert register.roles == {role: header}
    assert "no exact match" not in registers.describe_roles(register)


def test_a_header_containing_type_is_the_type_column_when_none_is_named_exactly():
    assert assetmap.detect_roles(["Name", "Type of community asset"]) == {
        "name": "Name", "type": "Type of community asset"}


FLAGS = ("Name,Postcode,Step free,Parking,Toilets,Cafe,Hearing loop\n"
         "Hall,BD7 1DP,Y,Y,Y,Y,Y\nLibrary,BD1 1AF,Y,N,Y,N,Y\n")


def test_a_row_of_one_letter_flags_is_not_taken_for_the_header(tmp_path):
    path = tmp_path / "venues.csv"
    path.write_text(FLAGS, encoding="utf-8")
    register = read_register(path)
    assert register.header_row == 1
    assert register.roles == {"name": "Name", "postcode": "Postcode"}
    assert register.frame["Parking"].tolist() == ["Y", "N"]


def test_the_header_row_can_be_given_and_rows_keep_their_numbers(tmp_path):
    path = tmp_path / "venues.csv"
    path.write_text("Venue,\nGroup,Where\nHall,BD7 1DP\nLibrary,BD1 1AF\n",
                    encoding="utf-8")
    assert read_register(path).header_row == 1  # "Venue" names the name column
    register = read_register(path, header_row=2, roles={"postcode": "Where"})
    assert register.header_row == 2 and list(register.frame.columns) == ["Group", "Where"]
    assert register.frame.index.tolist() == [3, 4]
    assert register.column("postcode").tolist() == ["BD7 1DP", "BD1 1AF"]
    assert "no header row 9: the file has 4 rows" in _one_line_error(path, header_row=9)


def test_the_header_row_option_reaches_the_register(tmp_path, data):
    from click.testing import CliRunner

    from assetmap.cli.main import cli

    path = tmp_path / "venues.csv"
    path.write_text("Venue,\nGroup,Where\nHall,BD7 1DP\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    args = ["validate", str(path), "--postcodes", str(data / "bradford" / "postcodes_bd.csv"),
            "--no-study-area", "-c", "postcode=Where", "-r", str(report)]
    assert CliRunner().invoke(cli, args).exit_code == 2  # no column 'Where' in row 1's header
    result = CliRunner().invoke(cli, [*args, "--header-row", "2"])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(report)[["row", "status"]].values.tolist() == [[3, "located"]]


def test_a_header_row_is_refused_for_files_without_one(two_layers):
    assert "CSV and XLSX registers only" in _one_line_error(two_layers, header_row=1)


@pytest.mark.parametrize(("text", "fast"), [
    ("id,name,postcode\r\n1, Hall ,BD1 1AA\r\n2,\"Two\r\nlines\",BD1 1AB\r\n", True),
    ("id,name,\n1,a,\n2,b,\n,,\n , ,\n", True),  # an unnamed column; trailing blank rows
    ("\ufeffid\tname\n1\t\u3000Caf\u00e9\x1c\n", True),  # BOM, tabs, Unicode spaces trimmed
    ("id,name\n1,\"x\"y\n", True),  # text after a closing quote
    ("id;name\n1;\"Quote \"\"here\"\"\"\n\n2;x\n", True),  # a blank row between data rows
    ("id,name\n1,a\n2,b,extra\n", False),  # a row wider than the header
    ("id,name\n1\n2,b\n", False),  # a short row
    ("Title\n\nid,name,postcode\n1,a,BD1 1AA\n", False),  # the header below a title
])
def test_arrow_and_python_readers_agree(tmp_path, text, fast):
    """The Arrow fast path reads exactly what Python's reader does, and steps aside for
    files it does not read the same way."""
    path = tmp_path / "register.csv"
    path.write_bytes(text.encode("utf-8"))
    data = registers._csv_bytes(path)
    decoded, encoding = registers._decoded(data, path)
    delimiter = registers._delimiter(decoded)
    assert (registers._arrow_csv(data, decoded, encoding, delimiter, None) is not None) == fast
    cells, widths = registers._grid(registers._csv_rows(decoded, delimiter, path))
    slow = registers._table(cells, widths, registers._find_header(cells))
    fast_frame = read_register(path).frame
    pd.testing.assert_frame_equal(fast_frame, slow)
    assert all(dtype == registers.TEXT for dtype in fast_frame.dtypes)


def test_a_file_utf8_at_its_start_only_is_read_as_windows_1252(tmp_path):
    """Its head decodes as UTF-8 but Arrow's check of the whole file fails: the whole file
    is decoded again, as Windows-1252, and read by Python's reader."""
    path = tmp_path / "register.csv"
    path.write_bytes(b"id,name\n" + b"1,Hall\n" * 700_000 + b"2,Caf\xe9\n")
    assert len(b"id,name\n" + b"1,Hall\n" * 700_000) > registers._HEAD_CHARS
    register = read_register(path)
    assert register.encoding == "cp1252" and register.frame["name"].iloc[-1] == "Caf\u00e9"


def test_nul_bytes_past_the_start_are_refused(tmp_path):
    path = tmp_path / "register.csv"
    path.write_bytes(b"id,name\n" + b"1,Hall\n" * 700_000 + b"2,a\x00b\n")
    with pytest.raises(AssetmapError, match="not a text file"):
        read_register(path)


def test_stacked_frames_keep_their_categorical_columns_categorical():
    """Two registers' assets: each one's source is its own category; stacked, the column
    holds both (as pd.concat alone would turn it into objects), values in order."""
    one = pd.DataFrame({"source": registers.categorical(np.zeros(2, dtype=np.int8), ["b.csv"]),
                        "row": [2, 3]})
    two = pd.DataFrame({"source": registers.categorical(np.zeros(1, dtype=np.int8), ["a.csv"]),
                        "row": [2]})
    frame = registers.stacked([one, two])
    assert isinstance(frame["source"].dtype, pd.CategoricalDtype)
    assert list(frame["source"].cat.categories) == ["a.csv", "b.csv"]
    assert list(frame["source"]) == ["b.csv", "b.csv", "a.csv"] and list(frame.index) == [0, 1, 2]
    assert list(registers.filled_text(registers.stacked([one, two.iloc[:0]])["source"])) == [
        "b.csv", "b.csv"]
