"""The orchestration layer (``pipeline``, ``analyses``, ``report``, ``plans``): step modules
never import it, and its end-to-end functions give the same results from loaded inputs as
from files."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

import assetmap
from assetmap import AssetmapError

#: The orchestration modules: they chain the steps; no other library module imports them.
ORCHESTRATION = ("pipeline", "analyses", "report", "plans", "nearby")
PACKAGE = Path(assetmap.__file__).parent


def orchestration_imports(path: Path) -> list[str]:
    """Every import of an orchestration module (or of a name it exports) in a top-level
    module of the package, at any level of the code, as ``line: module``."""
    exported = {name for module in ORCHESTRATION for name in assetmap._EXPORTS[module]}
    banned = {f"assetmap.{module}" for module in ORCHESTRATION}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            found += [f"{node.lineno}: {name}" for name in names
                      if any(name == b or name.startswith(b + ".") for b in banned)]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 1:
                continue  # outside the package
            module = "assetmap" + (f".{node.module}" if node.module else "") if node.level \
                else node.module or ""
            if module in banned:
                found.append(f"{node.lineno}: {module}")
            elif module == "assetmap":
                found += [f"{node.lineno}: assetmap.{alias.name}" for alias in node.names
                          if alias.name in ORCHESTRATION or alias.name in exported]
    return found


def test_step_modules_never_import_the_orchestration_layer():
    """A step module calling pipeline/analyses (even inside a function) inverts the layers:
    move the end-to-end code into the orchestration layer (or add a module here if it is
    orchestration)."""
    steps = [path for path in sorted(PACKAGE.glob("*.py"))
             if path.stem not in (*ORCHESTRATION, "__init__")]
    assert {"gaps", "clusters", "demand", "join", "locate", "maps"} <= {p.stem for p in steps}
    offending = {path.stem: found for path in steps if (found := orchestration_imports(path))}
    assert offending == {}


def test_the_import_check_finds_every_form(tmp_path):
    module = tmp_path / "step.py"
    module.write_text("import assetmap.pipeline\n"
                      "def f():\n"
                      "    from .pipeline import join_registers\n"
                      "    from . import analyses\n"
                      "    from assetmap import gap_analysis, outline\n"
                      "    from ..elsewhere import pipeline\n"
                      "    from .join import join\n")
    assert orchestration_imports(module) == [
        "1: assetmap.pipeline", "3: assetmap.pipeline", "4: assetmap.analyses",
        "5: assetmap.gap_analysis"]


@pytest.fixture(scope="module")
def tables(data) -> dict:
    folder = data / "bradford"
    return {"population": folder / "population_lsoa.csv",
            "deprivation": folder / "imd2019_lsoa.csv"}


@pytest.fixture(scope="module")
def schools(data, bradford):
    """Bradford's schools, located once: ``(assets, audit)``."""
    return assetmap.validate_registers([data / "bradford" / "schools.csv"], boundaries=bradford)


def test_gap_analysis_from_loaded_assets_and_layers_matches_files(data, bradford, layers,
                                                                  schools, tables):
    from_files = assetmap.gap_analysis([data / "bradford" / "schools.csv"], by=["ward"],
                                       boundaries=bradford, **tables)
    assets, audit = schools
    loaded = assetmap.gap_analysis(assets, audit=audit, by={"ward": layers["ward"]},
                                   boundaries=bradford, **tables)
    assert len(from_files.table) == len(layers["ward"]) and from_files.table["assets"].sum() > 0
    pd.testing.assert_frame_equal(loaded.table, from_files.table)
    pd.testing.assert_frame_equal(loaded.method, from_files.method)
    pd.testing.assert_frame_equal(loaded.audit, from_files.audit)
    assert loaded.published(10).equals(from_files.published(10))
    assert loaded.layers["ward"] is layers["ward"]  # taken, not read again


def test_gap_analysis_reuses_a_loaded_small_area_layer(bradford, layers, schools, tables):
    assets, _ = schools
    by_lsoa = assetmap.gap_analysis(assets, by={"lsoa": layers["lsoa"]}, boundaries=bradford,
                                    **tables)
    assert by_lsoa.demand.areas["code"].isin(layers["lsoa"]["code"]).all()
    assert len(by_lsoa.table) == len(layers["lsoa"])
    assert by_lsoa.audit.empty  # no audit given: none made up


def test_clusters_and_overlap_from_loaded_inputs_match_files(data, bradford, layers):
    practices = data / "bradford" / "gp_practices.csv"
    options = {"cluster": "pcn_code", "cluster_name": "pcn_name", "method": "nearest",
               "boundaries": bradford}
    from_files = assetmap.build_clusters([practices], blocks="lsoa", **options)
    assets, audit = assetmap.validate_registers([practices], boundaries=bradford)
    loaded = assetmap.build_clusters(assets, audit=audit, blocks=layers["lsoa"], **options)
    assert len(from_files.clusters) > 10
    pd.testing.assert_frame_equal(loaded.clusters, from_files.clusters)
    pd.testing.assert_frame_equal(loaded.members, from_files.members)
    assert loaded.warnings == from_files.warnings and loaded.tiling == from_files.tiling
    population = data / "bradford" / "population_lsoa.csv"
    table, warnings = assetmap.cluster_overlap(from_files.clusters, population,
                                               boundaries=bradford)
    again, warned = assetmap.cluster_overlap(
        loaded.clusters, population, boundaries=bradford, population_layer=layers["lsoa"],
        layers={name: layers[name] for name in ("ward", "constituency")})
    assert set(table["layer"]) == {"ward", "constituency"}
    pd.testing.assert_frame_equal(again, table)
    assert warned == warnings


def test_assets_not_located_by_assetmap_are_refused(bradford, layers, tables):
    wards = layers["ward"]
    with pytest.raises(AssetmapError, match="the assets have no 'source' column"):
        assetmap.gap_analysis(wards[["geometry"]], by={"ward": wards}, boundaries=bradford,
                              **tables)
