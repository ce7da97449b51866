"""Hostile registers through every command: never an internal error, never a live payload.

A seeded generator writes a few hundred small registers (CSV and XLSX) mixing injection
strings (spreadsheet formulas, control characters, Jinja, HTML and JavaScript), odd headers,
broken encodings, blank rows, impossible and swapped coordinates, malformed, unknown and
real Bradford postcodes, and unknown categories. Each goes through ``validate`` or ``join``
(which reads and locates as ``validate`` does); a share also through ``map`` (with hostile
titles and layer names), ``gaps`` and ``clusters build``/``overlap``. Every run ends with
exit 0, 1 or 2, with no traceback; after a run that succeeded, every CSV and XLSX written reads
back with no live formula, every HTML page holds no evaluated template and no raw markup
from the data; inputs are never changed, and no temporary file is left behind.

Case N is rebuilt alone, the same every time: ``pytest tests/test_hostile.py -k register017``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import traceback
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyproj
import pytest
from click.testing import CliRunner
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from assetmap.cli.main import cli

SEED = 20261202
CASES = 200
WIDE_CASE = 7  # the register with 5,000 columns
CLUSTER_CASES = range(5, CASES, 12)  # registers also run through clusters build and overlap

TEMPLATE = ["Z{{7*7}}Z", "Z{% if 1 %}x{% endif %}Z", "{#", "a {{ b", "{{", "}}", "{% raw %}",
            "Q{{ cycler.__init__.__globals__.os.getpid() }}Q", "{{ config }}"]
MARKUP = ["<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>", "${alert(1)}`",
          "`${alert(1)}`", '"><svg onload=alert(3)>', "<b>bold</b> &amp; &lt;", "\\u003c"]
FORMULA = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)", '=HYPERLINK("http://x","y")',
           "=1+1", "=", "-", "+"]
CONTROL = ["Hall\r=cmd|' /C calc'!A0", "Hall\n=1+1", "Hall\r\n@SUM(1)", "Hall\u2028=1+1",
           "Tab\t=1+1", "\t=1+1", "\r=1+1", "\n-1+1", "\u202eevil", "\ufeffBOM",
           '"quoted", field', "semi;colon", "pipe|bar", "'", '"', "\x1b[31mred",
           "\x1b[8mhidden", "a\x0bb", "[/]", "[bold]x[/bold]"]
OTHER = ["", " ", "n/a", "NULL", "None", "nan", "Café ñ 🏠", "A" * 3000, "0" * 40]
PAYLOADS = TEMPLATE + MARKUP + FORMULA + CONTROL + OTHER
#: What a page shows if a payload ran: evaluated templates, and markup pasted in raw.
EVALUATED = ["Z49Z", "ZxZ", f"Q{os.getpid()}Q", "<img src=x onerror=alert(1)>",
             "</script><script>alert(2)", "<svg onload=alert(3)>"]

NAMES = ["Community Hall", "St Mary's Church", "Youth Club", "Central Library", "Food bank",
         "Bowling Family Hub", "Thornbury Surgery", "Peel Park Primary"]
TYPES = ["school", "Primary School", "GP surgery", "community centre", "Family hub", "library",
         "Youth club", "mosque", "School - Primary", "Comm Centre"]
UNKNOWN_TYPES = ["Spaceport", "Zorb arena", "???", "type", "Category"]
BAD_POSTCODES = ["BD5 OPH", "XX1", "BD1", "12345", "BD7 9ZZ", "SW1A 1AA", "BD1  1AF ",
                 "b d 1 1 a f", "BD99 9ZZ", "QQ1 1QQ"]
BAD_NUMBERS = ["1e308", "-1e308", "1e400", "nan", "NaN", "inf", "-inf", "Infinity", "", "abc",
               "0", "-0", "1e-320", "53,8", "53°48'N", " 53.79 ", "9" * 30, "0x1F", "=53.8"]
HEADERS = {
    "name": ["Name", "Site Name", "Venue", "name"],
    "type": ["Type", "Category", "Type of Provision", "Service Type"],
    "postcode": ["Postcode", "Postcode", "Post Code", "Address Postcode", "PC"],
    "latitude": ["Latitude", "lat"], "longitude": ["Longitude", "lng", "long"],
    "easting": ["Easting", "X"], "northing": ["Northing", "Y"],
    "id": ["ID", "Site Ref", "URN"],
    "cluster": ["Cluster"],
    "extra": ["Notes", "Opening hours", "Contact", "Step free", "Parking"],
}
FILE_NAMES = ["register", "schools", "gp_practices", "Z{{7*7}}Z", "<img src=x onerror=alert(1)>",
              "=1+1", "venues ñ", "{#"]
CLUSTERS = ["C1", "C2", "C3", "Z{{7*7}}Z", "<img src=x onerror=alert(1)>", "=1+1", "", "{#"]


@pytest.fixture(scope="module")
def places(data) -> pd.DataFrame:
    """Real Bradford postcodes with their grid and WGS84 coordinates."""
    table = pd.read_csv(data / "bradford" / "postcodes_bd.csv", dtype={"postcode": str})
    table = table[table["lsoa11cd"].notna()].sample(2000, random_state=SEED)
    to_wgs = pyproj.Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    table["longitude"], table["latitude"] = to_wgs.transform(
        table["easting"].to_numpy(float), table["northing"].to_numpy(float))
    return table.reset_index(drop=True)


def pick(rng: np.random.Generator, values):
    return values[rng.integers(len(values))]


def number_text(rng, value: float) -> str:
    return pick(rng, BAD_NUMBERS) if rng.random() < 0.3 else f"{value:.6f}".rstrip("0")


def make_rows(rng, places: pd.DataFrame, case: int) -> list[list[str]]:
    """Header and rows of one register: a random choice of columns and of values."""
    share = {"name": 0.9, "type": 0.7, "postcode": 0.9, "latitude": 0.3, "easting": 0.2,
             "id": 0.5, "cluster": 1 if case in CLUSTER_CASES else 0.5}
    kinds = [kind for kind, p in share.items() if rng.random() < p]
    kinds += ["longitude"] * ("latitude" in kinds) + ["northing"] * ("easting" in kinds)
    kinds += ["extra"] * int(rng.integers(0, 3))
    header = [pick(rng, HEADERS[k]) for k in kinds]
    if rng.random() < 0.3:  # a weird header
        weird = int(rng.integers(5))
        if weird == 0 and header:
            kinds.append(kinds[0])
            header.append(header[0])  # duplicated
        else:
            kinds.append("extra")
            header.append(["", "Y", pick(rng, PAYLOADS), "Name\nPostcode", "N"][weird])
    if case == WIDE_CASE:
        kinds += ["extra"] * 5000
        header += [f"c{j}" for j in range(5000)]
    rows = []
    for _ in range(int(rng.integers(0, 16)) if rng.random() > 0.05 else 0):
        place = places.iloc[int(rng.integers(len(places)))]
        swapped = rng.random() < 0.1
        row = []
        for kind in kinds:
            if kind == "name":
                value = pick(rng, NAMES) if rng.random() < 0.55 else \
                    f"{pick(rng, NAMES)} {pick(rng, PAYLOADS)}" if rng.random() < 0.5 \
                    else pick(rng, PAYLOADS)
            elif kind == "type":
                roll = rng.random()
                value = pick(rng, TYPES) if roll < 0.6 else pick(rng, UNKNOWN_TYPES) \
                    if roll < 0.75 else pick(rng, PAYLOADS)
            elif kind == "postcode":
                roll, postcode = rng.random(), place["postcode"]
                value = postcode if roll < 0.5 else postcode.lower().replace(" ", "") \
                    if roll < 0.65 else pick(rng, BAD_POSTCODES) if roll < 0.85 \
                    else pick(rng, PAYLOADS)
            elif kind in ("latitude", "longitude"):
                axis = kind if not swapped else {"latitude": "longitude",
                                                 "longitude": "latitude"}[kind]
                value = number_text(rng, place[axis])
            elif kind in ("easting", "northing"):
                value = number_text(rng, place[kind])
            elif kind == "id":
                value = f"{int(rng.integers(20)):03d}" if rng.random() < 0.7 \
                    else pick(rng, PAYLOADS)
            elif kind == "cluster":
                value = pick(rng, CLUSTERS)
            else:
                value = pick(rng, ["Y", "N", "", "open 9-5", *PAYLOADS])
            row.append(value)
        roll = rng.random()
        if roll < 0.1:
            rows.append([""] * len(header))  # blank row
        elif roll < 0.13:
            rows.append([" "] * len(header))
        elif roll < 0.2 and rows:
            rows.append(list(rows[-1]))  # duplicate
        rows.append(row)
    titles = [["Register of community assets"], []] if rng.random() < 0.15 else []
    return [*titles, header, *rows]


def write_csv(rng, rows: list[list[str]], path: Path) -> Path:
    delimiter = pick(rng, [",", ",", ",", ",", ";", "\t", "|"])
    text = io.StringIO(newline="")
    if rng.random() < 0.05:  # no quoting at all: ragged, split rows
        text.write("\n".join(delimiter.join(row) for row in rows))
    else:
        csv.writer(text, delimiter=delimiter, lineterminator=pick(rng, ["\r\n", "\n"]),
                   quoting=csv.QUOTE_ALL if rng.random() < 0.1 else csv.QUOTE_MINIMAL,
                   ).writerows(rows)
    encoding = pick(rng, ["utf-8"] * 8 + ["utf-8-sig", "cp1252", "latin-1", "utf-16", "broken"])
    if encoding == "broken":  # invalid UTF-8 bytes, a truncated character
        data = bytearray(text.getvalue().encode())
        for _ in range(int(rng.integers(1, 4))):
            at = int(rng.integers(len(data) + 1))
            data[at:at] = pick(rng, [b"\xff\xfe", b"\xc3", b"\xe2\x82", b"\x00", b"\x81"])
        path.write_bytes(bytes(data))
    else:
        path.write_bytes(text.getvalue().encode(encoding, errors="replace"))
    return path


def write_xlsx(rng, rows: list[list[str]], path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    if rng.random() < 0.1:  # the register on a second sheet
        sheet.title = "Notes"
        sheet.append(["Read me first", ILLEGAL_CHARACTERS_RE.sub("", pick(rng, PAYLOADS))])
        sheet = book.create_sheet("Venues")
    for row in rows:  # numbers as numbers where they are finite; text that starts "=" a formula
        cells = []
        for value in row:
            clean = ILLEGAL_CHARACTERS_RE.sub("", value)
            try:
                number = float(clean)
            except ValueError:
                number = None
            cells.append(number if number is not None and np.isfinite(number)
                         and rng.random() < 0.5 else clean)
        sheet.append(cells)
    if rng.random() < 0.1 and sheet.max_row > 3 and sheet.max_column > 1:
        sheet.merge_cells(start_row=sheet.max_row - 1, start_column=1,
                          end_row=sheet.max_row, end_column=2)
    book.save(path)
    if rng.random() < 0.05:  # truncated
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def make_register(case: int, places: pd.DataFrame, folder: Path) -> Path:
    rng = np.random.default_rng([SEED, case])
    rows = make_rows(rng, places, case)
    name = pick(rng, FILE_NAMES)
    if case != WIDE_CASE and rng.random() < 0.3:
        return write_xlsx(rng, rows, folder / f"{name}.xlsx")
    return write_csv(rng, rows, folder / f"{name}.csv")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def formula_cells(cells) -> list[str]:
    """Text cells a spreadsheet would take for a formula (a plain number is not one)."""
    return [c for c in cells if isinstance(c, str) and c[:1] in ("=", "+", "-", "@", "\t", "\r")
            and not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", c)]


def output_problems(folder: Path) -> list[str]:
    """What is wrong with the files in ``folder``: live formulas, broken CSV rows, evaluated
    templates or raw markup in HTML, and temporary files left behind."""
    problems = [f"left behind: {p.name}" for p in folder.iterdir() if p.name.startswith(".")]
    for path in sorted(folder.glob("*.csv")):
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
        ragged = [i for i, row in enumerate(rows, 1) if len(row) != len(rows[0])]
        problems += [f"{path.name}: line {i} has a different number of fields" for i in ragged]
        live = formula_cells(c for row in rows for c in row)
        problems += [f"{path.name}: live formula {c!r}" for c in live[:3]]
    for path in sorted(folder.glob("*.xlsx")):
        book = openpyxl.load_workbook(path)
        cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
        problems += [f"{path.name}: formula cell {c.coordinate} {c.value!r}"
                     for c in cells if c.data_type == "f"][:3]
    for path in sorted(folder.glob("*.html")):
        page = path.read_text(encoding="utf-8")
        problems += [f"{path.name}: holds {marker!r}" for marker in EVALUATED if marker in page]
    return problems


class Runs:
    """Runs commands on one register, collecting every way a run went wrong."""

    def __init__(self, register: Path, out: Path):
        self.register, self.out, self.problems = register, out, []
        self.before = digest(register)

    def __call__(self, *args, expect=(0, 1, 2)) -> int:
        args = [str(a) for a in args]
        for stale in self.out.iterdir():
            stale.unlink()
        result = CliRunner().invoke(cli, args)
        line = "assetmap " + " ".join(repr(a) if " " in a else a for a in args)
        if result.exit_code not in expect or (
                result.exception and not isinstance(result.exception, SystemExit)):
            self.problems.append(f"{line}\n  -> exit {result.exit_code}: "
                                 f"{result.output.strip()[-300:]}\n{self._traceback(args)}")
        elif any(sign in result.output for sign in ("Traceback", ".assetmap-", "\x1b")):
            self.problems.append(f"{line}\n  -> a traceback, a temporary file or a raw escape: "
                                 f"{result.output.strip()[-300:]}")
        elif result.exit_code in (0, 1):
            self.problems += [f"{line}\n  -> {p}" for p in output_problems(self.out)]
        if digest(self.register) != self.before:
            self.problems.append(f"{line}\n  -> changed the register {self.register.name}")
            self.before = digest(self.register)
        return result.exit_code

    @staticmethod
    def _traceback(args) -> str:
        """The head and tail of the traceback of a run that went wrong, rerun with --debug."""
        result = CliRunner().invoke(cli, ["--debug", *args])
        if not result.exc_info or isinstance(result.exception, SystemExit):
            return ""
        lines = "".join(traceback.format_exception(*result.exc_info)).splitlines()
        return "\n".join("    " + line for line in lines[-12:])


@pytest.mark.parametrize("case", range(CASES), ids=lambda case: f"register{case:03d}")
def test_hostile_register_runs_end_in_a_clean_exit(case, places, data, tmp_path):
    (tmp_path / "in").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    register = make_register(case, places, tmp_path / "in")
    rng = np.random.default_rng([SEED, case, 1])
    postcodes = ["--postcodes", data / "bradford" / "postcodes_bd.csv"]
    population = data / "bradford" / "population_lsoa.csv"
    options = [*postcodes, *(["--category", pick(rng, TYPES if rng.random() < 0.8 else PAYLOADS)]
                             if rng.random() < 0.2 else [])]
    runs = Runs(register, out)

    if case == WIDE_CASE:  # 5,000 columns do not fit a GeoPackage
        runs("join", register, *options, "-l", "ward", "-o", out / "joined.gpkg")
    elif case % 2:  # join reads and locates as validate does, so one of the two suffices
        runs("join", register, *options, "-l", pick(rng, ["ward", "ward,constituency"]),
             "-o", out / f"joined{pick(rng, ['.csv', '.gpkg', '.geojson'])}")
    else:
        runs("validate", register, *options, "-r", out / "report.csv",
             *(["--strict"] if rng.random() < 0.3 else []),
             *(["--no-study-area"] if rng.random() < 0.1 else []))
    if case % 25 == 3:  # an output that is the register itself
        runs("join", register, *options, "-l", "ward", "-o", register, expect=(2,))
    if case % 8 == 0:
        layers = "ward" if rng.random() < 0.7 else \
            f"ward,{pick(rng, TEMPLATE + MARKUP)}={data / 'bradford' / 'constituencies.geojson'}"
        runs("map", register, *options, "-l", layers, "--title", pick(rng, PAYLOADS),
             "--measure", "ward:total" if rng.random() < 0.9 else "ward:Z{{7*7}}Z",
             *(["--coverage", f"{pick(rng, ['School', 'School', 'Z{{7*7}}Z'])}:800"]
               if rng.random() < 0.3 else []),
             *(["--offline"] if case % 40 == 0 else []), "-o", out / "map.html")
    if case % 16 == 3:
        runs("gaps", register, *options, "-p", population, "-o", out / "gaps.xlsx",
             *(["-d", data / "bradford" / "imd2019_lsoa.csv"] if rng.random() < 0.5 else []))
    if case in CLUSTER_CASES and runs(
            "clusters", "build", register, *options, "--cluster", "Cluster",
            "-m", pick(rng, ["nearest", "voronoi"]), "-o", out / "clusters.gpkg") == 0:
        clusters = tmp_path / "in" / "clusters.gpkg"
        (out / "clusters.gpkg").rename(clusters)
        runs("clusters", "overlap", clusters, "-p", population, "-l", "ward",
             "-o", out / "overlap.csv")
    assert not runs.problems, f"register {register.name}:\n" + "\n".join(runs.problems)
