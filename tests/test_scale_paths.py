"""The paths that keep national registers fast give the same answers as the slow ones:
gzipped tables read like plain ones, the postcode index built only when a row needs it,
formulas defused after the cheap prefilter, duplicates found among the rows compared."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

import assetmap
from assetmap.outputs import _BREAKS, _FORMULA, defuse_formulas

REGISTER = ("ID,Name,Type,Postcode,Easting,Northing\n"
            "01234,=SUM(A1),Library,bd1 1hy,416000,433000\n"
            "02,Hall,Community centre,BD5 0PH,416200,433100\n")


def _gzipped(path):
    target = path.with_name(path.name + ".gz")
    target.write_bytes(gzip.compress(path.read_bytes()))
    return target


def test_gzipped_register_reads_like_the_plain_file(tmp_path):
    plain = tmp_path / "sites.csv"
    plain.write_text(REGISTER, encoding="utf-8")
    read, packed = assetmap.read_register(plain), assetmap.read_register(_gzipped(plain))
    pd.testing.assert_frame_equal(read.frame, packed.frame)
    assert packed.roles == read.roles and packed.delimiter == ","
    assert packed.frame.loc[2, "ID"] == "01234"  # text as typed


def test_damaged_gzip_is_one_line_error(tmp_path):
    bad = tmp_path / "sites.csv.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(assetmap.AssetmapError, match="cannot read as a gzipped CSV"):
        assetmap.read_register(bad)


def test_gzipped_demand_tables_read_like_plain_ones(data, layers, tmp_path):
    tables = []
    for name in ("population_lsoa.csv", "imd2019_lsoa.csv"):
        copy = tmp_path / name
        copy.write_bytes((data / "bradford" / name).read_bytes())
        tables.append(copy)
    plain = assetmap.read_demand(tables[0], layers["lsoa"], deprivation=tables[1])
    packed = assetmap.read_demand(_gzipped(tables[0]), layers["lsoa"],
                                  deprivation=_gzipped(tables[1]))
    pd.testing.assert_frame_equal(plain.areas, packed.areas)
    assert packed.areas["population"].sum() > 500_000


def _located(path, postcodes, monkeypatch, cache):
    monkeypatch.setenv("ASSETMAP_CACHE_DIR", str(cache))
    return assetmap.validate_registers([path], postcodes=postcodes, use_study_area=False)


def test_postcode_index_built_only_when_a_row_needs_it(data, tmp_path, monkeypatch):
    postcodes = tmp_path / "postcodes.csv"  # its own copy: a cache file of its own
    postcodes.write_bytes((data / "bradford" / "postcodes_bd.csv").read_bytes())
    cache = tmp_path / "cache"
    register = tmp_path / "sites.csv"
    register.write_text(REGISTER, encoding="utf-8")
    assets, audit = _located(register, postcodes, monkeypatch, cache)
    assert not cache.exists() or not any(cache.iterdir())
    assert list(audit["method"]) == ["easting/northing"] * 2
    assert list(assets["postcode"]) == ["BD1 1HY", "BD5 0PH"]  # normalised all the same

    register.write_text(REGISTER + "03,Shop,Library,BD5 0PH,,\n", encoding="utf-8")
    assets, audit = _located(register, postcodes, monkeypatch, cache)
    assert list(audit["method"]) == ["easting/northing"] * 2 + ["postcode"]
    assert len(list(cache.iterdir())) == 1


def test_missing_postcode_file_still_refused_before_reading(tmp_path):
    register = tmp_path / "sites.csv"
    register.write_text(REGISTER, encoding="utf-8")
    with pytest.raises(assetmap.AssetmapError, match="postcode file not found"):
        assetmap.validate_registers([register], postcodes=tmp_path / "none.csv",
                                    use_study_area=False)


def _every_cell_defused(text: pd.Series) -> pd.Series:
    """The rule applied to every cell, as before the prefilter."""
    text = text.str.replace("\x00", "", regex=False)
    text = text.where(~text.str.startswith(("\t", "\r")), "'" + text)
    return text.str.replace(_FORMULA, "'", regex=True)


def test_prefilter_defuses_exactly_what_the_rule_does():
    leads = ["", " ", "\u200b", "\xa0", "\x01", "\ufeff"]
    signs = ["=", "+", "-", "@", "1", "a", "-1.5", "+3e4"]
    cells = [f"{lead}{sign}x" for lead in leads for sign in signs]
    cells += [f"ok{b}{lead}{sign}" for b in _BREAKS for lead in leads[:3] for sign in signs]
    cells += ["\tx", "\rx", "a\x00=b", "=\x00", "-", "a-b", "plain", "", "1+1", "@"]
    text = pd.Series(cells, dtype=object)
    assert defuse_formulas(pd.DataFrame({"c": text}))["c"].tolist() == \
        _every_cell_defused(text).tolist()
    safe = defuse_formulas(pd.DataFrame({"c": ["=SUM(A1)", "ok\n@cmd", "-1.75", "Hall"],
                                         "n": [1, 2, 3, 4]}))
    assert safe["c"].tolist() == ["'=SUM(A1)", "ok\n'@cmd", "-1.75", "Hall"]


def test_duplicates_found_among_rows_sharing_a_point_or_an_id(tmp_path):
    register = tmp_path / "sites.csv"
    register.write_text(
        "ID,Name,Type,Easting,Northing\n"
        "a1,Hall,Library,416000,433000\n"
        "b2,Other,Library,416000,433000\n"      # same point, other cells: kept
        "a1,Hall,Library,416000,433000\n"       # exact copy of row 2
        "A1 ,Far,Library,420000,440000\n"       # same ID, case and space aside
        "n/a,One,Library,421000,441000\n"
        "N/A,Two,Library,422000,442000\n",     # placeholder IDs never make duplicates
        encoding="utf-8")
    _, audit = assetmap.locate(assetmap.read_register(register))
    assert audit["reason"].tolist() == ["", "", "exact duplicate of row 2",
                                        "same ID as row 2", "", ""]


def test_the_command_line_returns_freed_memory(tmp_path):
    """A command runs with Arrow allocating through jemalloc (unless the environment chose
    otherwise) and glibc returning large freed blocks: what the national join's peak relies on."""
    import os
    import subprocess
    import sys

    script = ("import sys; from assetmap.cli.main import cli; "
              "sys.argv = ['assetmap', 'validate', sys.argv[1]]\n"
              "try:\n    cli()\nexcept SystemExit:\n    pass\n"
              "import pyarrow; print(pyarrow.default_memory_pool().backend_name)")
    register = tmp_path / "sites.csv"
    register.write_text(REGISTER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    chosen = subprocess.run([sys.executable, "-c", script, str(register)], env=env, cwd=tmp_path,
                            capture_output=True, text=True, check=True).stdout.split()[-1]
    assert chosen == "jemalloc"
    kept = subprocess.run([sys.executable, "-c", script, str(register)], capture_output=True,
                          cwd=tmp_path, env={**env, "ARROW_DEFAULT_MEMORY_POOL": "system"},
                          text=True, check=True).stdout.split()[-1]
    assert kept == "system"
