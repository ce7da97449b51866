"""The planning pack: what one run of a project found (:class:`PlanningPack`) and the files
``assetmap report`` writes from it (:func:`write_pack`), as one set.

The package: ``report.html`` (self-contained, offline, printable), ``map.html``,
``gaps.xlsx`` for people, ``assetmap.gpkg`` (styled for QGIS), ``audit.csv``, ``run.json``
(inputs with their sha256, options, versions, timings, warnings) and, with ``pdf``,
``report.pdf``. Two runs on unchanged inputs write identical files apart from the timings
in ``run.json`` (and the PDF's dates).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from .gaps import unmarked
from .join import count_by_area
from .outputs import output_set, write_geo_layers, write_table
from .progress import Progress, no_progress

if TYPE_CHECKING:
    import folium

    from .boundaries import BoundarySet
    from .clusters import ClusterResult
    from .gaps import GapResult
    from .project import Project
    from .whatif import SiteChange

#: The package's files, but the PDF and extra files.
PACK_FILES = ("report.html", "map.html", "gaps.xlsx", "assetmap.gpkg", "audit.csv",
              "run.json")
#: Packages whose versions ``run.json`` records.
_PACKAGES = ("assetmap", "geopandas", "shapely", "pyogrio", "pyproj", "pandas", "numpy",
             "pyarrow", "scipy", "folium", "branca", "mapclassify", "openpyxl", "rustpy-xlsxwriter",
             "tobler", "access")


@dataclass
class PlanningPack:
    """One run of a project: the gap result (layers, joined assets, audit, demand), the
    table as published, the clusters drawn, reach by IMD decile, step timings, warnings,
    the plans for new sites, and what changed since previous snapshots of registers."""

    project: Project
    boundaries: BoundarySet
    gaps: GapResult
    published: pd.DataFrame
    clusters: dict[str, ClusterResult]
    reach: pd.DataFrame
    timings: dict[str, float]
    warnings: list[str]
    plans: list[SiteChange] = field(default_factory=list)  # one per [[plan]]
    changes: list[SiteChange] = field(default_factory=list)  # since previous snapshots

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(self.gaps.table["category"]))

    @property
    def measures(self) -> pd.DataFrame:
        """The published table with suppressed cells blank: numbers for layers and charts."""
        return unmarked(self.published, self.gaps.table)

    def counted_layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Each planning layer's areas with their asset counts (a column per category)."""
        layers, assets = self.gaps.layers, self.gaps.assets
        present = set(assets["category"].dropna())
        counts = count_by_area(assets, layers, categories=[
            label for label in self.project.taxonomy.labels() if label in present])
        return {name: layer.merge(counts[counts["layer"] == name].drop(
            columns=["layer", "name"]), on="code", how="left")
            for name, layer in layers.items()}

    def layer_label(self, name: str) -> str:
        """A layer's name for people: the boundary set's label, or the map's name for it."""
        from .maps import layer_style

        spec = self.boundaries.layers.get(name)
        return spec.label if spec is not None and spec.label else layer_style(name)[0]


def pack_outputs(folder: str | Path, *, pdf: bool = False, extra: tuple[str, ...] = ()
                 ) -> list[Path]:
    """The files :func:`write_pack` writes into ``folder``."""
    names = [*PACK_FILES, *(("report.pdf",) if pdf else ()), *extra]
    return [Path(folder) / name for name in names]


def write_pack(pack: PlanningPack, folder: str | Path, *, pdf: bool = False,
               extra: dict[str, str] | None = None, progress: Progress = no_progress
               ) -> list[Path]:
    """Write the package into ``folder`` as one set (staged, renamed into place last):
    see the module docs. ``extra`` adds text files by name (the demo's project file)."""
    from .maps import map_page
    from .report_page import render_report
    from .workbook import write_people_workbook

    extra = extra or {}
    targets = pack_outputs(folder, pdf=pdf, extra=tuple(extra))
    start, project = time.perf_counter(), pack.project
    with output_set(targets) as staged:
        files = {path.name: path for path in staged}
        progress("Drawing the map")
        page = map_page(pack_map(pack), offline=project.map.offline)
        files["map.html"].write_text(page, encoding="utf-8")
        progress("Writing the report")
        files["report.html"].write_text(render_report(pack, page), encoding="utf-8")
        write_people_workbook(pack.published, files["gaps.xlsx"], title=project.title,
                              layer_labels={n: pack.layer_label(n) for n in pack.gaps.layers},
                              method=pack.gaps.method, audit=pack.gaps.audit)
        progress("Writing the GeoPackage")
        write_styled_geopackage(pack, files["assetmap.gpkg"])
        write_table(pack.gaps.audit, files["audit.csv"])
        for name, text in extra.items():
            files[name].write_text(text, encoding="utf-8")
        if pdf:
            from .printing import print_pdf

            progress("Printing the report to PDF")
            print_pdf(files["report.html"], files["report.pdf"])
        timings = {**pack.timings, "Writing the package": round(time.perf_counter() - start, 3)}
        files["run.json"].write_text(run_record(pack, timings, targets), encoding="utf-8")
    return targets


def pack_map(pack: PlanningPack) -> folium.Map:
    """The pack's map: every planning layer with its asset counts, the assets, and the
    first layer shaded by the first category's gap score (or ``[map] measure``)."""
    from .maps import make_map

    project, layers = pack.project, pack.counted_layers()
    layer, column = (project.map.measure or f"{project.gap.by[0]}:gap_score").split(":", 1)
    category = pack.categories[0]
    measures = pack.measures
    rows = measures[(measures["layer"] == layer) & (measures["category"] == category)]
    if column in rows:
        layers[layer] = layers[layer].merge(
            rows.drop(columns=["layer", "name", "category"]), on="code", how="left")
    shown = {name: layers[name] for name in project.map.layers or project.gap.by}
    return make_map(shown, pack.gaps.assets, taxonomy=project.taxonomy,
                    measure=(layer, column), scheme=project.map.scheme,
                    classes=project.map.classes, tiles=project.map.tiles, title=project.title,
                    attribution=pack.boundaries.attribution, category=category,
                    labels={name: pack.layer_label(name) for name in shown})


def write_styled_geopackage(pack: PlanningPack, path: Path) -> Path:
    """``assetmap.gpkg``: the assets, each planning layer with its asset counts, and per
    layer and category its gap measures (``<layer>_gaps_<category>``), each with a default
    QGIS style (assets by category colour, gap scores in the map's fixed classes)."""
    from .styles import boundary_style, category_style, measure_style

    measures, frames, styles = pack.measures, {"assets": pack.gaps.assets}, {}
    categories = pack.project.taxonomy.categories
    styles["assets"] = category_style(dict(zip(categories["label"], categories["colour"],
                                               strict=True)))
    for name, layer in pack.counted_layers().items():
        frames[name], styles[name] = layer, boundary_style(name)
        for category, rows in measures[measures["layer"] == name].groupby("category",
                                                                        sort=False):
            key = f"{name}_gaps_{_slug(category)}"
            frames[key] = pack.gaps.layers[name][["code", "geometry"]].merge(
                rows.drop(columns="layer"), on="code", how="left")
            styles[key] = measure_style("gap_score")
    for i, plan in enumerate(pack.plans, 1):
        frames[f"plan_{i}_sites"] = plan.sites
        styles[f"plan_{i}_sites"] = category_style({plan.summary["category"]: "#000000"})
    for i, change in enumerate(pack.changes, 1):
        frames[f"changes_{i}_sites"] = change.sites
        styles[f"changes_{i}_sites"] = category_style(
            {"opened": "#000000", "closed": "#9e9e9e", "moved": "#6a3d9a",
             "renamed": "#1f78b4", "recategorised": "#ff7f00"}, column="change")
    return write_geo_layers(frames, path, styles=styles)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "category"


def run_record(pack: PlanningPack, timings: dict[str, float], outputs: list[Path]) -> str:
    """``run.json``: the inputs with their sha256, the project's settings, package
    versions, rows located and rejected, warnings, timings (the only part that varies
    between two runs on unchanged inputs)."""
    project, audit = pack.project, pack.gaps.audit
    record = {
        "title": project.title,
        "inputs": [{"file": str(path), "bytes": path.stat().st_size, "sha256": _sha256(path)}
                   for path in project.inputs()],
        "settings": _plain(dataclasses.asdict(project)),
        "packages": {name: _version(name) for name in _PACKAGES},
        "rows": {str(k): int(v) for k, v in audit["status"].value_counts().sort_index().items()},
        "warnings": pack.warnings,
        "outputs": [path.name for path in outputs],
        "timings_s": timings,
    }
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _plain(value):
    """Settings as JSON values: paths as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
