"""The benchmark table runs end to end: ``bench/scale_bench.py`` on a tiny generated national
folder (four square LSOAs, 120 postcodes), one run of each row; the benchmark itself is not
part of the test run."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

BENCH = Path(__file__).resolve().parent.parent / "bench"
#: Rows whose commands the tiny folder can run; the others may say "not runnable: why".
TIMED = ["national join (kernel)", "national join", "nearest distances (kernel)",
         "postcode index load", "assetmap --help"]
OPTIONAL = ["national gaps", "Bradford demo"]


def tiny_national(folder: Path) -> None:
    """The national files scale_bench reads, for four 1 km squares."""
    national = folder / "national"
    national.mkdir(parents=True)
    codes = [f"E0100000{i}" for i in range(1, 5)]
    squares = [shapely.box(400_000 + 1000 * (i % 2), 400_000 + 1000 * (i // 2),
                           401_000 + 1000 * (i % 2), 401_000 + 1000 * (i // 2)) for i in range(4)]
    gpd.GeoDataFrame({"lsoa11cd": codes, "lsoa11nm": [f"Area {i}" for i in range(1, 5)]},
                     geometry=squares, crs=27700).to_file(national / "lsoa11_ew.gpkg",
                                                          layer="lsoa11_ew")
    rng = np.random.default_rng(1)
    xy = rng.uniform(400_050, 401_950, size=(120, 2)).round()
    letters = np.array(list("ABDEFGHJ"))
    postcodes = [f"BD{1 + i // 64} {i % 8}{letters[i // 8 % 8]}A" for i in range(120)]
    pd.DataFrame({"postcode": postcodes, "quality": 10, "easting": xy[:, 0].astype(int),
                  "northing": xy[:, 1].astype(int), "country": "E92000001",
                  "district_code": "E08000032", "ward_code": "E05001341"}).to_csv(
        national / "postcodes_gb.csv.gz", index=False)
    pd.DataFrame({"practice_code": ["A1", "A2", "A3"], "practice_name": ["One", "Two", "Three"],
                  "postcode": postcodes[:3], "easting": xy[:3, 0].astype(int),
                  "northing": xy[:3, 1].astype(int)}).to_csv(national / "gp_practices_england.csv",
                                                             index=False)
    tables = {
        "population_lsoa_england.csv.gz": {
            "Total population: mid 2015 (excluding prisoners)": [1500, 1600, 1700, 1800],
            "Dependent Children aged 0-15: mid 2015 (excluding prisoners)": [300, 310, 320, 330]},
        "imd2019_lsoa_england.csv.gz": {
            "Index of Multiple Deprivation (IMD) Rank": [100, 20000, 30000, 5000],
            "Index of Multiple Deprivation (IMD) Decile": [1, 7, 10, 2]}}
    for name, columns in tables.items():
        with gzip.open(national / name, "wt", newline="") as file:
            pd.DataFrame({"LSOA code (2011)": codes, **columns}).to_csv(file, index=False)


def test_scale_bench_prints_every_row(tmp_path):
    tiny_national(tmp_path / "data")
    done = subprocess.run([sys.executable, str(BENCH / "scale_bench.py"), "--data",
                           str(tmp_path / "data"), "--repeats", "1", "--warmup", "0"],
                          capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for label in TIMED + OPTIONAL:
        row = [line for line in lines if line[:26].strip() == label]
        assert len(row) == 1, f"{label} missing:\n{done.stdout}"
        if label in TIMED:
            assert "not runnable" not in row[0], row[0]
            ratio = float(row[0].split()[-1])
            assert 0 < ratio < 1000, row[0]
        else:
            assert "not runnable" in row[0] or row[0].split()[-1][0].isdigit(), row[0]
    assert "120 rows" in done.stdout  # the generated register: one asset per postcode


def test_stage_bench_prints_every_step(tmp_path):
    """bench/stage_bench.py on the tiny folder: every step of the join timed, and beside
    those that have one, a bare equivalent and the ratio."""
    tiny_national(tmp_path / "data")
    done = subprocess.run([sys.executable, str(BENCH / "stage_bench.py"), "--data",
                           str(tmp_path / "data"), "--repeats", "1"],
                          capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = done.stdout[done.stdout.index("step by step"):].splitlines()[2:]
    steps = {line[:28].strip(): line[28:].split() for line in table}
    assert "120 rows" in done.stdout and len(steps) == 13, done.stdout
    for label in ("read register", "locate: duplicates", "join to LSOAs", "write assets CSV"):
        ours, bare, ratio = steps[label]  # tiny: times near 0, the ratio may be anything
        assert float(ours) >= 0 and float(bare) >= 0 and ratio.replace(".", "").isdigit()
    assert float(steps["whole command (in process)"][0]) > 0

