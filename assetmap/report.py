"""The planning pack end to end, as ``assetmap report`` and ``assetmap demo`` run it.

:func:`planning_pack` runs a project file's study once: each input is read once (registers
located with their own reading options, boundary layers loaded once and handed to every
step), then clusters, gaps and the district-wide reach by deprivation follow, each step
timed. :func:`assetmap.pack.write_pack` writes the package. With :mod:`assetmap.pipeline`
and :mod:`assetmap.analyses` this is the orchestration layer: step modules never import it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from .analyses import build_clusters, gap_analysis
from .boundaries import as_boundary_set
from .errors import refuse_special_file
from .gaps import reach_by_decile
from .outputs import check_writable, clashes
from .pack import PlanningPack, pack_outputs, write_pack
from .pipeline import load_layers, validate_registers
from .plans import diff_snapshots, plan_sites
from .progress import Progress, no_progress
from .project import Project
from .registers import stacked


def planning_pack(project: Project, *, progress: Progress = no_progress) -> PlanningPack:
    """Validate, locate, draw clusters and find gaps for ``project``, reading each input once.

    The registers are located one by one with their own ``[[registers]]`` options; the
    boundary layers named by ``[gap] by`` (and ``[map] layers``) are loaded once; each
    ``[clusters.NAME]`` is drawn from its registers' located sites and becomes a layer (with
    its Area Advisory Networks); :func:`assetmap.gap_analysis` then runs on the located
    assets and loaded layers.
    """
    timings: dict[str, float] = {}

    @contextmanager
    def step(message: str) -> Iterator[None]:
        progress(message)
        start = time.perf_counter()
        yield
        timings[message] = round(time.perf_counter() - start, 3)

    bset = as_boundary_set(project.boundary_set)
    built = set(project.cluster_layers())
    wanted = [name for name in dict.fromkeys([*project.gap.by, *(project.map.layers or [])])
              if name not in built]
    with step("Loading boundary layers"):
        layers, area = load_layers(project.layer_items(wanted), bset,
                                   study_area=project.boundaries.study_area)
    with step("Reading and locating registers"):
        located = [validate_registers([register.path], study_area=area,
                                      **project.register_kwargs(i))
                   for i, register in enumerate(project.registers)]
        assets = stacked([found for found, _ in located])
        audit = stacked([rows for _, rows in located])
    clusters = {}
    for name, config in project.clusters.items():
        with step(f"Drawing clusters {name!r}"):
            chosen = {path.resolve() for path in config.registers}
            members = [i for i, register in enumerate(project.registers)
                       if register.path.resolve() in chosen]
            sites = stacked([located[i][0] for i in members])
            result = build_clusters(sites, audit=pd.concat([located[i][1] for i in members]),
                                    boundaries=bset, **project.cluster_options(name))
        clusters[name] = result
        layers[name] = result.clusters
        if result.areas is not None:
            layers[project.areas_layer(name)] = result.areas
    by = {name: layers[name] for name in project.gap.by}
    with step("Finding gaps"):
        gaps = gap_analysis(assets, audit=audit, by=by,
                            boundaries=bset, postcodes=project.boundaries.postcodes,
                            taxonomy=project.taxonomy, tolerance=project.boundaries.tolerance,
                            **project.analysis_kwargs())
        published = gaps.published(project.suppress.below)
    with step("Measuring reach by deprivation"):
        reach = _reach(gaps)
    plans = []
    for i, config in enumerate(project.plan, 1):
        with step(f"Planning new sites ({i}: {config.problem}, {config.category})"):
            plans.append(_plan(project, config, gaps, located, bset))
    changes = []
    for i, register in enumerate(project.registers):
        if register.previous is None:
            continue
        analysed = set(gaps.table["category"])
        for label in [c for c in dict.fromkeys(located[i][0]["category"].dropna())
                      if c in analysed]:
            with step(f"Comparing {register.path.name} with {register.previous.name} "
                      f"({label})"):
                changes.append(_changes(project, i, label, located[i][0], by, bset))
    warnings = [warning for result in clusters.values() for warning in result.warnings]
    return PlanningPack(project, bset, gaps, published, clusters, reach, timings,
                        warnings + gaps.warnings, plans, changes)


def _changes(project: Project, i: int, label: str, current, by, bset):
    """:func:`assetmap.diff_snapshots` of register ``i``'s previous snapshot (read as it
    is) and its located rows, for one category."""
    options = {k: v for k, v in project.analysis_kwargs().items()
               if k not in ("category", "threshold", "capacity")}
    reading = {k: v for k, v in project.reading_kwargs(i).items() if k != "category"}
    threshold = next((item.threshold for item in project.analyse if item.category == label),
                     None)
    return diff_snapshots([project.registers[i].previous], current, category=label,
                          threshold=threshold, by=by, boundaries=bset,
                          postcodes=project.boundaries.postcodes, taxonomy=project.taxonomy,
                          tolerance=project.boundaries.tolerance, **options, **reading)


def _plan(project: Project, config, gaps, located, bset):
    """:func:`assetmap.plan_sites` of one ``[[plan]]`` on the pack's gap analysis:
    candidates that are project registers are taken as located already (with their own
    reading options)."""
    paths = [register.path.resolve() for register in project.registers]
    given = [path.resolve() for path in config.candidates]
    candidates, candidate_audit = config.candidates, None
    if all(path in paths for path in given):
        mine = [located[paths.index(path)] for path in given]
        candidates = stacked([found for found, _ in mine])
        candidate_audit = stacked([rows for _, rows in mine])
    return plan_sites(gaps, category=config.category, candidates=candidates,
                      candidate_audit=candidate_audit, problem=config.problem, k=config.k,
                      threshold=config.threshold, target=config.target, demand=config.demand,
                      capacity=config.capacity, boundaries=bset, taxonomy=project.taxonomy,
                      formula=project.formula())


def _reach(gaps) -> pd.DataFrame:
    """:func:`assetmap.gaps.reach_by_decile` of every analysed category."""
    frames = []
    for row in gaps.table.drop_duplicates("category").itertuples():
        assets = gaps.assets[gaps.assets["category"] == row.category]
        people = "children" if row.group == "children" else "population"
        frames.append(reach_by_decile(gaps.points, assets.geometry.to_numpy(), people,
                                      row.threshold_m).assign(category=row.category,
                                                              group=row.group))
    return pd.concat(frames, ignore_index=True)


def run_report(project: Project, folder: str | Path, *, pdf: bool = False,
               extra: dict[str, str] | None = None, progress: Progress = no_progress
               ) -> tuple[list[Path], PlanningPack]:
    """:func:`planning_pack` then :func:`assetmap.pack.write_pack`: the files written, and
    the pack.

    Before any work, the package's files are checked against every input of the project
    (an output never replaces an input) and their folder must accept files.
    """
    targets = pack_outputs(folder, pdf=pdf, extra=tuple(extra or ()))
    inputs = project.inputs()
    for path in inputs:
        refuse_special_file(path)
    clashes(targets, inputs)
    check_writable(targets)
    pack = planning_pack(project, progress=progress)
    return write_pack(pack, folder, pdf=pdf, extra=extra, progress=progress), pack
