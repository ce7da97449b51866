"""The notebooks run as written (their code cells, in order, in one namespace)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

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


def test_bradford_assets_notebook(data):
    namespace = run_notebook("bradford_assets.ipynb")
    assert len(namespace["joined"]) == 274
    wards = namespace["wards"]
    assert len(wards) == 30 and wards["total"].sum() == 274
    assert wards["total"].is_monotonic_increasing


def test_bradford_gaps_notebook(data):
    namespace = run_notebook("bradford_gaps.ipynb")
    assert len(namespace["pcn"].clusters) == 12
    shares = namespace["overlap_table"].groupby("cluster_code")["share_of_cluster"].sum()
    assert shares.round(6).eq(100).all()
    wards = namespace["wards"]
    assert len(wards) == 30 and wards.iloc[0]["name"] == "Wharfedale"
    assert set(namespace["gaps"].table["layer"]) == {"ward", "pcn"}
    assert namespace["fmap"]._repr_html_().startswith("<div")
