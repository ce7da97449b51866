"""The starter project file ``assetmap init`` writes: a commented ``assetmap.toml`` filled
in from the registers and small-area tables found in a folder (see :mod:`assetmap.project`
for the keys). Text taken from the data goes only into quoted strings and cleaned comments.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import AssetmapError
from .settings import resource_dir

if TYPE_CHECKING:
    from .registers import Register
    from .taxonomy import Taxonomy

#: Files ``assetmap init`` looks at: registers and small-area tables.
STARTER_SUFFIXES = (".csv", ".csv.gz", ".xlsx", ".xlsm", ".geojson", ".gpkg")
#: A register column naming each site's cluster (``pcn_code``): a cluster layer is proposed.
_CLUSTER_COLUMN = r"^(?P<name>pcn|cluster|network|locality)[ _]?(code|id)?$"


@dataclass
class _Found:
    """What :func:`starter_project` found in a folder."""

    registers: list[str] = field(default_factory=list)  # TOML text of each [[registers]]
    categories: dict[str, int] = field(default_factory=dict)  # label -> assets seen
    clusters: dict[str, str] = field(default_factory=dict)  # name -> TOML text
    layers: dict[str, str] = field(default_factory=dict)  # boundary files: name -> file
    population: str | None = None
    deprivation: str | None = None
    skipped: list[str] = field(default_factory=list)


def starter_project(folder: str | Path) -> str:
    """The text of a commented starter ``assetmap.toml`` for the files in ``folder``.

    Each register (:data:`STARTER_SUFFIXES`) becomes a ``[[registers]]`` table with its
    detected column roles as a comment, and a category when it has no type column (guessed
    from the file name); a population and a deprivation table (found by
    :data:`assetmap.demand.DEMAND_ROLES` headers) fill ``[demand]``; a cluster column
    (``pcn_code``) proposes ``[clusters.NAME]``; each category found gets an
    ``[[analyse]]`` table. The text loads with :func:`assetmap.project.parse_project` placed in
    ``folder``.
    """
    from .demand import DEMAND_ROLES
    from .registers import read_register
    from .taxonomy import load_taxonomy

    folder = Path(folder)
    taxonomy = load_taxonomy()
    found = _Found()
    for path in sorted(p for p in folder.iterdir()
                       if p.name.lower().endswith(STARTER_SUFFIXES) and p.is_file()):
        try:
            register = read_register(path)
        except AssetmapError as error:
            found.skipped.append(_comment(f"not read: {error}"))
            continue
        if "geometry" in register.frame and _polygonal(register.frame["geometry"]):
            found.layers[path.stem] = path.name
            continue
        headers = [str(c) for c in register.frame.columns if c != "geometry"]
        named = {role: any(re.search(pattern, h, re.IGNORECASE) for h in headers)
                 for role, pattern in DEMAND_ROLES.items()}
        if named["imd_decile"] and found.deprivation is None:
            found.deprivation = path.name
            continue
        if named["population"] and found.population is None:
            found.population = path.name
            continue
        text, counts = _register_text(register, taxonomy)
        for label, count in counts.items():
            found.categories[label] = found.categories.get(label, 0) + count
        found.registers.append(text)
        for header in headers:
            match = re.match(_CLUSTER_COLUMN, header, re.IGNORECASE)
            if match and match["name"].lower() not in found.clusters:
                name = match["name"].lower()
                found.clusters[name] = _cluster_text(name, path.name, header, headers)
    return _starter_text(folder, found, taxonomy)


def _register_text(register: Register, taxonomy: Taxonomy) -> tuple[str, dict[str, int]]:
    """A register's ``[[registers]]`` table, its detected roles and category as comments;
    and the assets of each category it holds."""
    import pandas as pd

    from .locate import type_columns
    from .registers import describe_roles
    from .taxonomy import classify

    lines = ["[[registers]]", f"path = {_quote(register.path.name)}",
             _comment(f"{len(register.frame):,} rows, header on row {register.header_row}; "
                      f"columns detected: {describe_roles(register)}"),
             "# columns = { " + ", ".join(f"{role} = {_quote(column)}" for role, column
                                          in register.roles.items()) + " }"
             "  # uncomment and correct a role detected wrongly"]
    if "type" in register.roles:
        counts = classify(register.column("type"), taxonomy)["category"].value_counts()
        lines.append(f"# categories from column {register.roles['type']!r}: " + (", ".join(
            f"{label} ({count:,})" for label, count in counts.items()) or "none known"))
        return "\n".join(lines), {str(k): int(v) for k, v in counts.items()}
    guessed = classify(pd.Series([register.path.stem.replace("_", " ")]), taxonomy)["category"]
    label = guessed.iloc[0] if guessed.notna().iloc[0] else None
    if label is not None:
        lines.append(f"# category = {_quote(label)}  # no type column: every row is one, "
                     "guessed from the file name as the commands do")
    else:
        lines.append("# category = \"...\"  # no type column: name the category of every row "
                     "(see assets/taxonomy.toml)")
    suspects = list(type_columns(register, taxonomy))
    if suspects:
        lines.append(f"# column {suspects[0]!r} looks like types: columns = "
                     f"{{ type = {_quote(suspects[0])} }}")
    return "\n".join(lines), {label: len(register.frame)} if label else {}


def _cluster_text(name: str, register: str, column: str, headers: list[str]) -> str:
    names = [h for h in headers if h.lower() in (f"{name}_name", f"{name} name")]
    return "\n".join([
        f"[clusters.{name}]",
        f"registers = [{_quote(register)}]  # the member sites",
        f"cluster = {_quote(column)}",
        *([f"name = {_quote(names[0])}"] if names else []),
        "method = \"nearest\"  # nearest: output areas join their nearest site's cluster; "
        "voronoi: cells around the sites",
        "# areas = \"areas.csv\"  # table cluster -> area (columns cluster, area, area_name): "
        "Area Advisory Networks",
        f"# areas_layer = \"{name}_areas\""])


def _starter_text(folder: Path, found: _Found, taxonomy: Taxonomy) -> str:
    sets = sorted(p.stem for p in resource_dir("boundaries").glob("*.toml"))
    clusters = {name: text for name, text in found.clusters.items() if name not in found.layers}
    layers = ("layers = { " + ", ".join(f"{_quote(name)} = {_quote(file)}" for name, file
                                        in found.layers.items()) + " }  # boundary files here"
              if found.layers else
              "# layers = { pcn = \"pcn.gpkg\" }  # extra boundary layers: NAME = file")
    parts = [
        _comment(f"assetmap project file, written by 'assetmap init' for the files in "
                 f"{folder.resolve().name}/.") + "\n"
        "# Paths are relative to this file. Check the guesses marked below, then run the\n"
        "# commands with --config assetmap.toml. Every key is described in assetmap/project.py.",
        "[project]\ntitle = " + _quote(f"Community assets: {folder.resolve().name}")
        + "\n# taxonomy = [\"our_categories.toml\"]  # extra categories and synonyms",
        f"[boundaries]\nset = \"bradford\"  # boundary sets: {', '.join(sets)}, or a .toml "
        f"file\n{layers}\n# study_area = true  # reject rows outside the set's outline\n"
        "# tolerance = 50",
        *found.registers,
        *found.skipped,
        *clusters.values(),
    ]
    if found.population:
        parts.append("[demand]\npopulation = " + _quote(found.population)
                     + "  # people per small area (detected by its headers)\n"
                     + (f"deprivation = {_quote(found.deprivation)}  # IMD rank and decile"
                        if found.deprivation else "# deprivation = \"imd2019_lsoa.csv\"")
                     + "\nsmall_areas = \"lsoa\"  # the layer whose codes the tables use\n"
                     "aggregate = \"auto\"  # auto, best_fit, apportion, area")
    else:
        parts.append("# [demand]  # no population table found: gaps need one\n"
                     "# population = \"population_lsoa.csv\"\n"
                     "# deprivation = \"imd2019_lsoa.csv\"")
    coverage = taxonomy.categories.set_index("label")["coverage_m"]
    for label, count in found.categories.items():
        parts.append(f"[[analyse]]\ncategory = {_quote(label)}  # {count:,} assets\n"
                     f"# threshold = {coverage[label]:g}  # metres (default: the taxonomy's)")
    by = ", ".join(_quote(name) for name in dict.fromkeys(
        ["ward", "constituency", *found.layers, *clusters]))
    parts += [
        f"[gap]\nby = [{by}]\naccess = 1.0\nneed = 1.0\ndeprived_deciles = 2\npriority = 25",
        "[suppress]\n# below = 10  # show people counts under 10 as [c] in written files",
        "[outputs]\nfolder = \"out\"",
        "[map]\nscheme = \"quantiles\"  # quantiles, natural_breaks, equal_interval\n"
        "tiles = \"openstreetmap\"  # or cartodb, none, a tile URL template",
    ]
    return "\n\n".join(parts) + "\n"


def _polygonal(geometries) -> bool:
    """Whether most of a file's geometries are polygons: a boundary layer, not a register."""
    import shapely

    kinds = shapely.get_type_id(geometries.to_numpy())
    return bool(((kinds == 3) | (kinds == 6)).mean() > 0.5)


def _comment(text: str) -> str:
    """A TOML comment line holding ``text`` (control characters, which would end or break
    it, as spaces)."""
    return "# " + re.sub(r"[\x00-\x08\x0a-\x1f\x7f]", " ", text)


def _quote(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(str(text), ensure_ascii=False)


#: The demo's project file: the Bradford bundle's GP practices and schools, {data} and
#: {aan} filled in by :func:`demo_project`.
_DEMO = """\
# assetmap demo: the planning pack on the Bradford open-data bundle.
# Run it again, or edit it and run: assetmap report -c assetmap.toml -o pack

[project]
title = "Bradford district: GP practices and schools (assetmap demo)"

[boundaries]
set = "bradford"

[[registers]]
path = {gp}
category = "GP practice"

[[registers]]
path = {schools}
category = "School"

[clusters.pcn]                # Primary Care Networks, drawn from their member practices
registers = [{gp}]
cluster = "pcn_code"
name = "pcn_name"
method = "nearest"            # each output area goes to the nearest practice's network
areas = {aan}                 # ILLUSTRATIVE four-area grouping, not an official one
areas_layer = "aan"

[demand]
population = {population}
deprivation = {deprivation}

[[analyse]]
category = "GP practice"      # residents within 1,600 m

[[analyse]]
category = "School"           # children (0-15) within 1,600 m

[[plan]]                      # where would 3 more practices reach the most people?
category = "GP practice"      # (schools stand in for candidate venues here)
candidates = [{schools}]
problem = "cover"
k = 3
demand = "residents"

[gap]
by = ["aan", "pcn", "ward", "constituency"]

[suppress]
below = 10

[map]
tiles = "none"                # offline: no background tiles
"""


def demo_project(data: str | Path | None = None) -> str:
    """The demo's ``assetmap.toml`` (absolute paths): the Bradford bundle in ``data``
    (default: :func:`assetmap.settings.data_dir`) with the illustrative Area Advisory
    Networks shipped in ``boundaries/``."""
    from .settings import data_dir

    folder = Path(data or data_dir()).resolve() / "bradford"
    files = dict(gp="gp_practices.csv", schools="schools.csv",
                 population="population_lsoa.csv", deprivation="imd2019_lsoa.csv")
    missing = [name for name in files.values() if not (folder / name).is_file()]
    if missing:
        raise AssetmapError(f"the Bradford data bundle is not in {folder} (no {missing[0]}): "
                            "set ASSETMAP_DATA_DIR to the folder holding bradford/")
    return _DEMO.format(aan=_quote(resource_dir("boundaries") / "bradford_aan_illustrative.csv"),
                        **{key: _quote(folder / name) for key, name in files.items()})
