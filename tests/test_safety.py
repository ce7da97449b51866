"""Data safety of the outputs: no output replaces an input, every CSV and XLSX cell stays text
whatever it holds, a killed command leaves the old outputs whole and its debris is cleared,
write failures are one-line errors, and ``--help`` stays light."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from assetmap import AssetmapError, write_geo, write_table, write_xlsx
from assetmap.cli.main import cli
from assetmap.outputs import clear_stale, output_set

#: Text that turns into a live formula, or splits a row, if a writer gets it wrong.
HOSTILE = [
    "Hall\r=cmd|' /C calc'!A0",
    "Hub\n+SUM(1,2)",
    "Centre\r\n-2+3",
    "Room\u2028@SUM(A1)",
    "Space\x0b=1+1",
    "\t=tab",
    " =HYPERLINK(\"http://x\")",
    "=1+1",
    "@cmd",
    "-1.75",
    "Plain, with \"quotes\"",
]
_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def live_formulas(path: Path) -> list[str]:
    """Cells a spreadsheet would take for formulas, read two ways: as Excel reads the file
    (quotes honoured) and as a reader that splits rows at every line-break character."""
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for fragment in re.split(f"[{_BREAKS}]", text):
        rows += list(csv.reader([fragment]))
    return [cell for row in rows for cell in row
            if re.match(r"^[\s\x00-\x1f]*[=+\-@]", cell) and not _NUMBER.match(cell.strip())]


def read_rows(path: Path) -> list[list[str]]:
    """The rows of a CSV as Python's csv module reads it; every row as long as the header."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert {len(row) for row in rows} == {len(rows[0])}, path
    return rows


# -- item: formulas and line breaks ---------------------------------------------------------

def test_every_text_cell_is_quoted_and_defused_whatever_it_holds(tmp_path):
    frame = pd.DataFrame({"name": [*HOSTILE, "nul\x00=1"], "n": range(len(HOSTILE) + 1)})
    path = write_table(frame, tmp_path / "t.csv")
    rows = read_rows(path)
    assert len(rows) == len(frame) + 1  # no row split
    assert live_formulas(path) == []
    names = [row[0] for row in rows[1:]]
    assert names[0] == "Hall\r'=cmd|' /C calc'!A0"
    assert names[5:11] == ["'\t=tab", "' =HYPERLINK(\"http://x\")", "'=1+1", "'@cmd", "-1.75",
                           "Plain, with \"quotes\""]
    assert names[-1] == "nul=1"  # NUL dropped
    assert [row[1] for row in rows[1:]] == [str(i) for i in range(len(frame))]


def test_the_old_writer_would_have_let_a_formula_through(tmp_path):
    """The check itself sees the defect the writer fixes (a bare CR, unquoted)."""
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"name\nHall\r=cmd|' /C calc'!A0\n")
    assert set(live_formulas(broken)) == {"=cmd|' /C calc'!A0"}


def test_xlsx_cells_stay_text_whatever_they_hold(tmp_path):
    """Text is stored as text; a column holding text that would read as a formula when
    edited is quote-prefixed (every text cell in it), a column of plain text is not."""
    frame = pd.DataFrame({"=name": HOSTILE, "plain": "Hall"})
    path = write_xlsx({"s": frame}, tmp_path / "t.xlsx")
    sheet = openpyxl.load_workbook(path)["s"]
    cells = [row[0] for row in sheet.iter_rows()]
    assert all(cell.data_type == "s" for row in sheet.iter_rows() for cell in row)
    as_read = [re.sub("\r\n?", "\n", h.replace("\x0b", "")) for h in HOSTILE]  # XML's rules
    assert [c.value for c in cells] == ["=name", *as_read]
    assert all(c.quotePrefix for c in cells[1:])
    assert not any(row[1].quotePrefix for row in sheet.iter_rows())


def test_text_longer_than_an_xlsx_cell_holds_is_cut_and_says_so(tmp_path):
    """Excel holds 32,767 characters (UTF-16 units) a cell: longer text is cut, visibly."""
    texts = ["x" * 40_000, "\U0001f600" * 20_000, "ok"]
    path = write_xlsx({"s": pd.DataFrame({"name": texts})}, tmp_path / "t.xlsx")
    cells = [row[0].value for row in openpyxl.load_workbook(path)["s"].iter_rows(min_row=2)]
    assert [len(c.encode("utf-16-le")) // 2 for c in cells[:2]] == [32_767, 32_767 - 1]
    assert all(c.endswith("[cut: a cell holds 32,767 characters]") for c in cells[:2])
    assert cells[1].startswith("\U0001f600" * 100) and cells[2] == "ok"


def test_an_xlsx_cell_that_becomes_a_formula_once_cleaned_is_quote_prefixed(tmp_path):
    """XML cannot hold ``\\x0b``: "\\x0b=1+1" is stored as "=1+1", which Excel makes a
    formula when the cell is edited unless it is quote-prefixed."""
    texts = ["\x0b=1+1", "\x01@cmd", "\x1f\x0c+1+1"]
    path = write_xlsx({"s": pd.DataFrame({"name": texts})}, tmp_path / "t.xlsx")
    cells = [row[0] for row in openpyxl.load_workbook(path)["s"].iter_rows(min_row=2)]
    assert [(c.value, c.data_type, c.quotePrefix) for c in cells] == [
        ("=1+1", "s", True), ("@cmd", "s", True), ("+1+1", "s", True)]


@pytest.fixture(scope="module")
def hostile_outputs(data, layers, tmp_path_factory):
    """Every command run on a register and a ward layer full of hostile text."""
    folder = tmp_path_factory.mktemp("hostile")
    postcodes = ["BD22 0QF", "BD10 8AF", "LS29 7NY", "BD16 1BW", "BD9 6PL", "BD15 0HF",
                 "BD16 4HG", "LS29 9AA", "BD6 1PQ", "BD7 1JA", "BD22 9NJ"]
    register = folder / "hostile.csv"
    with register.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Name", "Type", "Postcode", "pcn", "pcn_name"])
        for i, (name, postcode) in enumerate(zip(HOSTILE, postcodes, strict=True)):
            writer.writerow([name, "school", postcode, f"=P{i % 3}", HOSTILE[i % 3]])
    wards = layers["ward"].copy()
    wards["name"] = [HOSTILE[i % len(HOSTILE)] for i in range(len(wards))]
    wards.to_file(folder / "wards.geojson")
    hw = f"hw={folder / 'wards.geojson'}"
    pop = data / "bradford" / "population_lsoa.csv"
    commands = [
        ["validate", register, "-r", folder / "report.csv"],
        ["join", register, "--layers", f"ward,{hw}", "-o", folder / "joined.csv"],
        ["clusters", "build", register, "--cluster", "pcn", "--cluster-name", "pcn_name",
         "--method", "voronoi", "-o", folder / "cl.gpkg"],
        ["clusters", "overlap", folder / "cl.gpkg", "-p", pop, "--layers", hw,
         "-o", folder / "overlap.csv"],
        ["gaps", register, "--category", "school", "-p", pop, "--by", hw,
         "-o", folder / "g.xlsx"],
    ]
    for command in commands:
        result = run(*command)
        assert result.exit_code == 0, (command, result.output)
    return folder


@pytest.mark.parametrize("name, rows", [
    ("report.csv", 11), ("joined.csv", 11), ("joined_counts.csv", 30 + 30),
    ("joined_audit.csv", 11), ("cl_members.csv", 11), ("cl_audit.csv", 11),
    ("overlap.csv", None), ("g.csv", 30)])
def test_every_csv_written_reads_back_whole_with_no_live_formula(hostile_outputs, name, rows):
    path = hostile_outputs / name
    table = read_rows(path)
    assert rows is None or len(table) == rows + 1
    text = path.read_bytes().decode("utf-8-sig")
    assert "Hall\r'=cmd" in text or name in ("overlap.csv", "g.csv")
    assert live_formulas(path) == []


def test_area_names_reach_the_csv_and_workbook_as_text(hostile_outputs):
    names = {row[2] for row in read_rows(hostile_outputs / "g.csv")[1:]}
    assert "Hall\r'=cmd|' /C calc'!A0" in names and "'=1+1" in names
    book = openpyxl.load_workbook(hostile_outputs / "g.xlsx")
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert not any(cell.data_type == "f" for cell in cells)
    assert "Hall\n=cmd|' /C calc'!A0" in {cell.value for cell in cells}  # XML reads CR as LF
    assert live_formulas(hostile_outputs / "overlap.csv") == []


# -- item: outputs never replace inputs ----------------------------------------------------

_TAXONOMY = """[categories.hall]
label = "Hall"
colour = "#336699"
icon = "house"
synonyms = ["hall"]
"""


@pytest.fixture()
def inputs(tmp_path) -> Path:
    """A folder of input files (their content is never read: the check comes first)."""
    for name in ("reg.csv", "schools.csv", "schools_audit.csv", "pop.csv", "imd.csv",
                 "x_members.csv", "areas.csv", "poly.gpkg", "gaps.csv", "pc.csv",
                 "pcn.gpkg", "ward.geojson", "lsoa.geojson", "set_pc.csv", "wards.shp",
                 "wards.dbf"):
        (tmp_path / name).write_bytes(f"input {name}\n".encode())
    (tmp_path / "tax.toml").write_text(_TAXONOMY, encoding="utf-8")
    (tmp_path / "set.toml").write_text(textwrap.dedent(f"""\
        name = "test"
        study_area = "ward"
        postcodes = "{tmp_path / 'set_pc.csv'}"
        [layers.ward]
        file = "{tmp_path / 'ward.geojson'}"
        [layers.lsoa]
        file = "{tmp_path / 'lsoa.geojson'}"
        """), encoding="utf-8")
    return tmp_path


CLASHES = [
    # (command line, the input it would have replaced)
    (["validate", "reg.csv", "-r", "reg.csv"], "reg.csv"),
    (["validate", "reg.csv", "-b", "set.toml", "-r", "set.toml"], "set.toml"),
    (["validate", "reg.csv", "-b", "set.toml", "-r", "ward.geojson"], "ward.geojson"),
    (["validate", "reg.csv", "-b", "set.toml", "-r", "set_pc.csv"], "set_pc.csv"),
    (["validate", "reg.csv", "--postcodes", "pc.csv", "-r", "pc.csv"], "pc.csv"),
    (["validate", "reg.csv", "--taxonomy", "tax.toml", "-r", "tax.toml"], "tax.toml"),
    (["join", "schools_audit.csv", "-o", "schools.gpkg"], "schools_audit.csv"),
    (["join", "reg.csv", "--layers", "pcn=pcn.gpkg", "-o", "pcn.gpkg"], "pcn.gpkg"),
    (["join", "reg.csv", "--layers", "wards.shp", "-o", "wards.dbf"], "wards.dbf"),
    (["join", "reg.csv", "-b", "set.toml", "--layers", "ward", "-o", "lsoa.geojson"],
     "lsoa.geojson"),
    (["gaps", "schools.csv", "--category", "school", "-p", "pop.csv", "-o", "schools.xlsx"],
     "schools.csv"),
    (["gaps", "reg.csv", "-p", "pop.csv", "-o", "pop.xlsx"], "pop.csv"),
    (["gaps", "reg.csv", "-p", "pop.csv", "-d", "imd.csv", "-o", "imd.gpkg"], "imd.csv"),
    (["gaps", "reg.csv", "-p", "pop.csv", "--by", "ward,pcn=pcn.gpkg", "-o", "pcn.csv"],
     "pcn.gpkg"),
    (["map", "reg.csv", "--gaps", "gaps.csv", "-o", "gaps.csv"], "gaps.csv"),
    (["map", "reg.csv", "-o", "reg.csv"], "reg.csv"),
    (["clusters", "build", "reg.csv", "--members", "x_members.csv", "-o", "x.gpkg"],
     "x_members.csv"),
    (["clusters", "build", "reg.csv", "--areas", "areas.csv", "-o", "areas.csv"], "areas.csv"),
    (["clusters", "build", "reg.csv", "--polygons", "poly.gpkg", "-o", "poly.gpkg"],
     "poly.gpkg"),
    (["clusters", "overlap", "pcn.gpkg", "-p", "pop.csv", "-o", "pop.csv"], "pop.csv"),
    (["clusters", "overlap", "pcn.gpkg", "-p", "pop.csv", "-o", "pcn.gpkg"], "pcn.gpkg"),
    (["clusters", "overlap", "pcn.gpkg", "-p", "pop.csv", "--layers", "w=ward.geojson",
      "-o", "ward.geojson"], "ward.geojson"),
]


@pytest.mark.parametrize("args, clash", CLASHES, ids=[" ".join(c[0]) for c in CLASHES])
def test_an_output_that_would_replace_an_input_is_refused_before_any_work(
        inputs, monkeypatch, args, clash):
    monkeypatch.chdir(inputs)
    before = {p.name: p.read_bytes() for p in inputs.iterdir()}
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert re.match(f"assetmap: error: ({re.escape(str(inputs))}/)?{re.escape(clash)}: is an "
                    "input", result.stderr), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in inputs.iterdir()} == before  # nothing written


def test_an_output_inside_an_input_folder_is_refused(inputs, monkeypatch):
    monkeypatch.chdir(inputs)
    (inputs / "codepoint").mkdir()
    result = run("validate", "reg.csv", "--postcodes", "codepoint", "-r", "codepoint/bd.csv")
    assert result.exit_code == 2
    assert "codepoint: is an input folder" in result.stderr
    assert list((inputs / "codepoint").iterdir()) == []


@pytest.mark.data  # the default boundary set's layers
def test_the_control_case_gets_past_the_check(inputs, monkeypatch):
    monkeypatch.chdir(inputs)
    result = run("join", "reg.csv", "--postcodes", "pc.csv", "-o", "reg_counts.csv")
    assert result.exit_code == 2  # later, reading the dummy postcode file
    assert "pc.csv" in result.stderr and "is an input" not in result.stderr


# -- item: outputs written as a set; debris of a killed run cleared ----------------------

_SLOW_WRITER = """
import sys, time
from pathlib import Path
import assetmap.pipeline as pipeline
from assetmap.cli.main import cli

original = pipeline.write_table

def write_then_hang(frame, path):
    written = original(frame, path)
    Path(sys.argv[1]).write_text("written", encoding="utf-8")
    time.sleep(120)  # killed here, with part of the set written
    return written

pipeline.write_table = write_then_hang
cli(sys.argv[2:])
"""


def test_a_killed_join_leaves_the_old_set_whole_and_the_next_run_clears_its_debris(
        data, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    old = {name: f"old {name}".encode() for name in ("j.gpkg", "j_counts.csv", "j_audit.csv")}
    for name, content in old.items():
        (out / name).write_bytes(content)
    register = tmp_path / "reg.csv"
    register.write_text("Name,Easting,Northing\nHub,415660,432832\nHall,416546,433216\n",
                        encoding="utf-8")
    marker = tmp_path / "marker"
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(marker), "join", str(register),
         "--layers", "ward", "--postcodes", str(data / "bradford" / "postcodes_bd.csv"),
         "-o", str(out / "j.gpkg")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    debris = [p for p in out.iterdir() if p.name not in old]
    assert debris and all(p.name.startswith(f".assetmap-{process.pid}-") for p in debris)
    assert {p.name for p in debris[0].iterdir()} >= {"j.gpkg", "j_counts.csv"}  # half a set
    assert {name: (out / name).read_bytes() for name in old} == old  # the old set, whole

    result = run("validate", register, "--postcodes", data / "bradford" / "postcodes_bd.csv",
                 "-r", out / "report.csv")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted([*old, "report.csv"])


def test_temporaries_of_live_processes_are_left_alone(tmp_path):
    mine = tmp_path / f".assetmap-{os.getpid()}-x.tmp"
    mine.mkdir()
    dead = tmp_path / ".assetmap-999999999-y.tmp"  # above any pid_max
    dead.mkdir()
    (dead / "half.gpkg").write_bytes(b"x")
    (tmp_path / ".assetmap-999999999-z.gpkg-journal").write_bytes(b"x")
    (tmp_path / ".hidden-user-file").write_bytes(b"x")
    clear_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name, ".hidden-user-file"]


def test_a_set_is_written_whole_or_not_at_all(tmp_path):
    targets = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for t in targets:
        t.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), output_set(targets) as staged:
        staged[0].write_text("new", encoding="utf-8")
        raise RuntimeError("failed before b")
    assert [t.read_text(encoding="utf-8") for t in targets] == ["old", "old"]
    with output_set(targets) as staged:
        for s in staged:
            s.write_text("new", encoding="utf-8")
    assert [t.read_text(encoding="utf-8") for t in targets] == ["new", "new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]


def test_a_writers_error_names_the_target_not_the_staging_folder(tmp_path):
    with pytest.raises(AssetmapError) as error, output_set([tmp_path / "a.txt"]) as (staged,):
        write_geo(gpd.GeoDataFrame(), staged)
    assert str(error.value) == (f"{tmp_path / 'a.txt'}: unknown output format; use .gpkg, "
                                ".geojson or .csv")
    assert list(tmp_path.iterdir()) == []


def test_a_writers_error_names_a_relative_target_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AssetmapError) as error, output_set([Path("a.gpkg")]) as (staged,):
        raise AssetmapError("too many columns", file=staged)
    assert str(error.value) == "a.gpkg: too many columns"


def test_a_writer_that_strays_from_its_plan_is_a_bug(tmp_path):
    with pytest.raises(RuntimeError, match="writer and plan disagree"), \
            output_set([tmp_path / "a.csv"]) as (staged,):
        staged.write_text("a", encoding="utf-8")
        staged.with_name("unplanned.csv").write_text("b", encoding="utf-8")
    assert list(tmp_path.iterdir()) == []


# -- item: write failures are bad input ----------------------------------------------------

@pytest.fixture()
def register(tmp_path) -> Path:
    path = tmp_path / "reg.csv"
    path.write_text("Name,Easting,Northing\nHub,415660,432832\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("command, output, says", [
    ("validate", "/proc/x", "/proc/x: cannot write in /proc ("),
    ("join", "/proc/x.gpkg", "/proc/x.gpkg: cannot write in /proc ("),
    ("validate", "{tmp}/reg.csv/out.csv", "/out.csv: cannot write: {tmp}/reg.csv is a file"),
    ("join", "{tmp}/reg.csv/j.gpkg", "/j.gpkg: cannot write: {tmp}/reg.csv is a file"),
    ("join", "{tmp}/j.gpkg", "/j_audit.csv: is a folder"),  # a sibling output
])
def test_an_output_that_cannot_be_written_is_a_one_line_error(register, tmp_path, command,
                                                               output, says):
    (tmp_path / "j_audit.csv").mkdir()
    result = run(command, register, "-r" if command == "validate" else "-o",
                 output.format(tmp=tmp_path))
    assert result.exit_code == 2, result.output
    assert says.format(tmp=tmp_path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j_audit.csv", "reg.csv"]


@pytest.mark.parametrize("command, option", [("validate", "-r"), ("join", "-o"),
                                             ("map", "-o")])
@pytest.mark.parametrize("via_link", [False, True])
def test_a_pipe_or_device_is_never_replaced_by_an_output(data, register, tmp_path, command,
                                                         option, via_link):
    """``-o /dev/null`` run as root replaced the device with a file (a FIFO stands in)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    output = tmp_path / "link" if via_link else fifo
    if via_link:  # as /dev/stdout links to /proc/self/fd/1
        output.symlink_to(fifo)
    result = run(command, register, option, output)
    assert result.exit_code == 2, result.output
    assert f"{output}: not a regular file (a pipe, device or socket): not written" \
        in result.stderr
    assert fifo.is_fifo() and output.is_symlink() == via_link


def test_the_library_writers_never_replace_a_pipe_either(tmp_path):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    with pytest.raises(AssetmapError, match="not a regular file"):
        write_table(pd.DataFrame({"a": [1]}), fifo)
    assert fifo.is_fifo()


def test_a_read_only_folder_is_a_one_line_error(tmp_path, register):
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = os.geteuid() == 0  # root writes through permissions: mount a read-only folder
    if mounted:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", folder],
                              capture_output=True, text=True)
        if done.returncode:
            pytest.skip(f"running as root and cannot mount a read-only folder: {done.stderr}")
    else:
        folder.chmod(0o555)
    try:
        result = run("validate", register, "-r", folder / "sub" / "r.csv")
        assert result.exit_code == 2, result.output
        assert f"cannot write in {folder} (" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert list(folder.iterdir()) == []
    finally:
        if mounted:
            subprocess.run(["umount", folder], check=True)


def test_a_failure_while_writing_is_a_one_line_error(tmp_path):
    with pytest.raises(AssetmapError, match=r"cannot write.*No space left"), \
            output_set([tmp_path / "a.csv"]):
        raise OSError(28, "No space left on device")
    assert list(tmp_path.iterdir()) == []


# -- item: --help is light -----------------------------------------------------------------

@pytest.mark.parametrize("args", [["--help"], ["join", "--help"], ["gaps", "--help"],
                                  ["map", "--help"], ["clusters", "build", "--help"]])
def test_help_imports_no_heavy_library(args):
    code = ("import sys\nfrom assetmap.cli.main import cli\n"
            f"try:\n    cli({args!r})\nexcept SystemExit:\n    pass\n"
            "print([m for m in ('geopandas', 'pandas', 'folium', 'mapclassify', 'shapely') "
            "if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert "Usage:" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_step_modules_import_neither_the_orchestration_nor_the_map_libraries():
    code = ("import sys, assetmap.demand, assetmap.gaps, assetmap.clusters\n"
            "print([m for m in ('assetmap.pipeline', 'assetmap.maps', 'folium', 'mapclassify') "
            "if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_the_package_still_exports_its_functions():
    import assetmap
    import assetmap.join
    import assetmap.locate  # these modules share their names with functions

    assert all(getattr(assetmap, name) is not None for name in assetmap.__all__)
    for name in ("join", "locate"):
        function = getattr(assetmap, name)
        assert callable(function) and function.__module__ == f"assetmap.{name}"
    assert assetmap.settings.WORK_CRS == "EPSG:27700"  # submodules too
    for name in ("x.y", ".", "no_such_module"):  # not a name: no import is tried
        assert not hasattr(assetmap, name)
