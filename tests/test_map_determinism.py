"""The same inputs write the same map page, byte for byte, with ids unique to the map."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from assetmap.maps import _element_ids, write_map
from assetmap.pipeline import map_registers

#: A register ID that looks like one of branca's element ids (32 hex digits).
HEX_ID = "0123456789abcdef0123456789abcdef"
#: Builds the Bradford map from the registers in argv[1] (a folder) and writes argv[2].
SCRIPT = """
import sys
from pathlib import Path
from assetmap.maps import write_map
from assetmap.pipeline import map_registers
folder = Path(sys.argv[1])
fmap = map_registers([folder / "gp_practices.csv", folder / "groups.csv"],
                     layers=["ward", "constituency"], map_options=dict(
                         measure=("ward", "total"), coverage=("GP practice", 1000),
                         tiles="openstreetmap", title=sys.argv[3]))
write_map(fmap, sys.argv[2])
"""


@pytest.fixture(scope="module")
def registers(data, tmp_path_factory) -> Path:
    """GP practices and a few community groups, one with a hex ID."""
    folder = tmp_path_factory.mktemp("registers")
    (folder / "gp_practices.csv").write_bytes(
        (data / "bradford" / "gp_practices.csv").read_bytes())
    postcodes = pd.read_csv(data / "bradford" / "postcodes_bd.csv")
    sample = postcodes[postcodes["lsoa11cd"].notna()].sample(40, random_state=2)
    pd.DataFrame({"ID": [HEX_ID, *(f"G{i}" for i in range(39))],
                  "Name": [f"Group {i}" for i in range(40)], "Type": "Community group",
                  "Postcode": sample["postcode"].to_numpy()}).to_csv(folder / "groups.csv",
                                                                     index=False)
    return folder


def build(registers: Path, title: str = "Bradford"):
    return map_registers([registers / "gp_practices.csv", registers / "groups.csv"],
                         layers=["ward", "constituency"], map_options=dict(
                             measure=("ward", "total"), coverage=("GP practice", 1000),
                             tiles="openstreetmap", title=title))


def names(page: str) -> list[str]:
    """The JavaScript variables the page declares for its elements (``<kind>_<digest>_<n>``)."""
    return re.findall(r"\bvar (\w+_[0-9a-f]{12}_\d+) =", page)


def test_two_maps_of_the_same_inputs_write_identical_files(registers, tmp_path):
    first = write_map(build(registers), tmp_path / "first.html").read_bytes()
    second = write_map(build(registers), tmp_path / "second.html").read_bytes()
    assert first == second
    assert HEX_ID in first.decode()  # a register's hex ID is data, not an element id


def test_another_process_and_hash_seed_write_the_same_file(registers, tmp_path):
    here = write_map(build(registers), tmp_path / "here.html").read_bytes()
    for seed in ("1", "2"):
        subprocess.run([sys.executable, "-c", SCRIPT, str(registers), tmp_path / f"{seed}.html",
                        "Bradford"], check=True, env={**os.environ, "PYTHONHASHSEED": seed})
        assert (tmp_path / f"{seed}.html").read_bytes() == here


def test_no_random_element_id_reaches_the_page(registers):
    fmap = build(registers)
    page = fmap.get_root().render()
    ids = _element_ids(fmap.get_root())
    assert len(ids) > 20
    assert not [i for i in ids if i in page]
    assert fmap._repr_html_() == fmap._repr_html_()


def test_ids_are_unique_in_a_page_and_between_different_maps(registers):
    one = names(build(registers).get_root().render())
    other = names(build(registers, title="Another title").get_root().render())
    assert len(one) > 10 and len(set(one)) == len(one) and len(set(other)) == len(other)
    assert not set(one) & set(other)
