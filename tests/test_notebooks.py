"""The notebooks run as written (their code cells, in order, in one namespace)."""

from __future__ import annotations

import html
import json
import re
import tempfile
from pathlib import Path

import pytest

from assetmap.pack import PACK_FILES

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch):
    """What a notebook writes (relative paths, temporary folders) lands in ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def run_notebook(name: str) -> dict:
    cells = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]
    namespace: dict = {}
    for cell in cells:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), name, "exec"), namespace)
    return namespace


def offline_page(fmap) -> str:
    """The page a map shows inline, after checking it needs no network: Leaflet inlined, no
    script or stylesheet fetched, no background tiles."""
    shown = fmap._repr_html_()
    assert shown.startswith("<div")
    page = html.unescape(shown)
    assert "Leaflet 1." in page
    assert not re.search(r"<(script|link)\b[^>]*\b(src|href)=", page)
    assert "L.tileLayer(" not in page
    return page


def test_notebooks_are_stored_without_outputs():
    names = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
    assert names == ["bradford_assets.ipynb", "bradford_clusters.ipynb", "planning_pack.ipynb"]
    for name in names:
        notebook = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
        assert (notebook["nbformat"], notebook["nbformat_minor"]) == (4, 5)
        code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
        assert code and all(cell["outputs"] == [] and cell["execution_count"] is None
                            for cell in code), name
        assert len({cell["id"] for cell in notebook["cells"]}) == len(notebook["cells"])


def test_bradford_assets_notebook(data):
    namespace = run_notebook("bradford_assets.ipynb")
    assert len(namespace["joined"]) == 274
    wards = namespace["wards"]
    assert len(wards) == 30 and wards["total"].sum() == 274
    assert wards["total"].is_monotonic_increasing
    page = offline_page(namespace["fmap"])
    assert "Wharfedale" in page and "GP practice" in page


def test_bradford_clusters_notebook(data):
    namespace = run_notebook("bradford_clusters.ipynb")
    pcn, aans = namespace["pcn"], namespace["aans"]
    assert len(pcn.clusters) == 12 and len(aans) == 4
    # the four illustrative AANs share out the 12 PCNs and tile the district
    listed = aans["clusters"].str.split(", ").explode()
    assert sorted(listed) == sorted(pcn.clusters["code"]) and aans["members"].sum() == 59
    assert aans["name"].str.endswith("(illustrative)").all()
    union = aans.geometry.union_all()
    assert union.area == pytest.approx(aans.area.sum(), rel=1e-9)
    assert union.symmetric_difference(pcn.outline).area < 1
    shares = namespace["overlap_table"].groupby("cluster_code")["share_of_cluster"].sum()
    assert shares.round(6).eq(100).all()
    aan_overlap = namespace["aan_overlap"]
    assert sorted(aan_overlap["aan_code"].unique()) == ["AAN1", "AAN2", "AAN3", "AAN4"]
    assert aan_overlap.groupby("aan_code")["share_of_aan"].sum().round(6).eq(100).all()
    assert aan_overlap["code"].nunique() == 30
    wards = namespace["wards"]
    assert len(wards) == 30 and wards.iloc[0]["name"] == "Wharfedale"
    table = namespace["gaps"].table
    assert set(table["layer"]) == {"ward", "pcn", "aan"}
    assert sorted(table.loc[table["layer"] == "aan", "rank"]) == [1, 2, 3, 4]
    offline_page(namespace["fmap"])


def test_planning_pack_notebook(data):
    namespace = run_notebook("planning_pack.ipynb")
    project, pack = namespace["project"], namespace["pack"]
    assert len(project.registers) == 2  # the family hub register is a commented example
    published = pack.published
    assert set(published["layer"]) == {"aan", "pcn", "ward"}
    assert set(published["category"]) == {"School", "GP practice"}
    assert (published["layer"] == "aan").sum() == 2 * 4
    assert namespace["top"]["rank"] == 1 and namespace["top"]["name"] == "Wharfedale"
    reach = namespace["reach"]
    assert list(reach.loc[reach["category"] == "GP practice", "decile"]) == [
        *range(1, 11), "all"]
    folder = namespace["study"] / "pack"
    assert [path.name for path in namespace["files"]] == list(PACK_FILES)
    assert all((folder / name).stat().st_size > 0 for name in PACK_FILES)
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert record["rows"] == {"located": 274}
    page = offline_page(namespace["pack_map"])
    assert "Airedale and Wharfedale (illustrative)" in page
