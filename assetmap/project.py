"""The project file ``assetmap.toml``: every setting of a study written once, checked before
any work, with paths relative to the file.

The dataclasses below *are* the schema: each TOML table is read into one of them by
:meth:`_Reader.build`, which refuses an unknown key (suggesting the nearest valid one), a missing
required key, a wrong type or a value out of range, and resolves paths against the file's
folder (an input file must exist). Checks that look at the data follow: column roles and
columns against each register's header, categories against the taxonomy, layer names
against the boundary set. Every problem is one :class:`AssetmapError` line naming the file,
the key (dotted, e.g. ``registers[2].columns.type``, counting ``[[registers]]`` tables
from 1) and the problem. A valid file gives a :class:`Project` whose methods hand ready
keyword arguments to the library functions. The keys of each table are the fields of its
dataclass (:class:`RegisterConfig` for ``[[registers]]``, ...).

Example (every key optional unless marked)::

    [project]
    title = "Family hubs in Bradford"
    taxonomy = ["our_categories.toml"]        # extra category files

    [boundaries]
    set = "bradford"                          # a name from boundaries/, or a .toml file
    layers = { locality = "localities.gpkg" } # extra layers: NAME = boundary file
    study_area = true                         # reject rows outside the set's outline
    tolerance = 50                            # metres

    [[registers]]
    path = "hubs.xlsx"                        # required
    previous = "hubs_2026-10.xlsx"            # last month's: the report says what changed
    sheet = "Sites"
    header_row = 3
    columns = { type = "Type of Provision", postcode = "Post Code" }  # roles detection missed
    fix_postcodes = false

    [[registers]]
    path = "gp_practices.csv"
    category = "GP practice"                  # every row, for a register with no type column
    # all_rows = "GP practice"                # every row, even if a column looks like types

    [clusters.pcn]                            # a layer drawn from member sites
    registers = ["gp_practices.csv"]          # required: [[registers]] holding the sites
    cluster = "pcn_code"
    name = "pcn_name"
    method = "nearest"                        # nearest, voronoi or file (with polygons)
    areas = "networks.csv"                    # cluster -> area: Area Advisory Networks
    areas_layer = "aan"                       # their layer's name (default: pcn_areas)

    [demand]
    population = "population_lsoa.csv"        # required
    deprivation = "imd2019_lsoa.csv"
    small_areas = "lsoa"
    aggregate = "auto"                        # auto, best_fit, apportion, area

    [[analyse]]
    category = "Family hub site"              # required
    threshold = 1600                          # metres (default: the taxonomy's coverage_m)

    [[plan]]                                  # new sites, shown in the report
    category = "Family hub site"              # required
    candidates = ["venues.xlsx"]              # required: registers of candidate sites
    problem = "cover"                         # cover (k), median (k) or setcover (target)
    k = 3
    demand = "deprived-children"              # residents, children or deprived-children

    [gap]
    by = ["ward", "constituency", "locality", "pcn", "aan"]
    access = 1.0
    need = 1.0
    deprived_deciles = 2
    priority = 25

    [suppress]
    below = 10

    [outputs]
    folder = "out"

    [map]
    scheme = "quantiles"
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AssetmapError, first_line
from .settings import (
    AGGREGATIONS,
    DEMANDS,
    EDGE_TOLERANCE_M,
    PROBLEMS,
    SCHEMES,
    resource_dir,
)

if TYPE_CHECKING:
    from .gaps import GapFormula
    from .taxonomy import Taxonomy

#: The project file's usual name: ``assetmap init`` writes it, commands look for it.
PROJECT_FILE = "assetmap.toml"
#: Cluster drawing methods (``file`` takes the polygons from ``polygons``).
CLUSTER_METHODS = ("nearest", "voronoi", "file")


def _meta(**checks) -> dict:
    """Field metadata read by :class:`_Reader`: ``min``/``max`` (numbers; ``open``: the
    minimum excluded), ``choices``, ``keys`` (the allowed keys of a table: ``"roles"`` or
    ``"demand_roles"``, see :func:`_keys`), ``output`` (a path that need not exist yet),
    ``internal`` (not a key of the file)."""
    return checks


@dataclass(frozen=True)
class ProjectInfo:
    """``[project]``: the title on every output, and extra category files."""

    title: str = ""
    taxonomy: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Boundaries:
    """``[boundaries]``: the boundary set, extra layers, postcodes, study area, tolerance."""

    set: str = "bradford"
    layers: dict[str, Path] = field(default_factory=dict)
    postcodes: Path | None = None
    study_area: bool = True
    tolerance: float = field(default=EDGE_TOLERANCE_M, metadata=_meta(min=0))


@dataclass(frozen=True)
class RegisterConfig:
    """One ``[[registers]]`` table: a register file and how to read it."""

    path: Path
    sheet: str | int | None = None
    header_row: int | None = field(default=None, metadata=_meta(min=1))
    columns: dict[str, str] = field(default_factory=dict, metadata=_meta(keys="roles"))
    category: str | None = None
    all_rows: str | None = None
    fix_postcodes: bool = False
    previous: Path | None = None  # an earlier snapshot: the report says what changed
    typed: bool = field(default=False, metadata=_meta(internal=True))  # has a type column


@dataclass(frozen=True)
class ClusterConfig:
    """One ``[clusters.NAME]`` table: a layer of cluster polygons drawn from member sites
    (:func:`assetmap.build_clusters`), and optionally their Area Advisory Networks."""

    registers: list[Path]
    cluster: str = "cluster"
    name: str | None = None
    members: Path | None = None
    member_id: str | None = None
    method: str = field(default="nearest", metadata=_meta(choices=CLUSTER_METHODS))
    blocks: str = "oa"
    polygons: Path | None = None
    areas: Path | None = None
    areas_layer: str | None = None
    overlap: list[str] = field(default_factory=lambda: ["ward", "constituency"])


@dataclass(frozen=True)
class DemandConfig:
    """``[demand]``: people and deprivation per small area (:func:`assetmap.read_demand`)."""

    population: Path
    deprivation: Path | None = None
    columns: dict[str, str] = field(default_factory=dict, metadata=_meta(keys="demand_roles"))
    small_areas: str = "lsoa"
    points: str = "postcodes"
    aggregate: str = field(default="auto", metadata=_meta(choices=AGGREGATIONS))


@dataclass(frozen=True)
class AnalyseConfig:
    """One ``[[analyse]]`` table: a category to find gaps in, and its coverage distance."""

    category: str
    threshold: float | None = field(default=None, metadata=_meta(min=0, open=True))


@dataclass(frozen=True)
class PlanConfig:
    """One ``[[plan]]`` table: new sites of a category chosen among candidate registers
    (:func:`assetmap.plan_sites`), shown in the report."""

    category: str
    candidates: list[Path]
    problem: str = field(default="cover", metadata=_meta(choices=PROBLEMS))
    k: int | None = field(default=None, metadata=_meta(min=1))
    threshold: float | None = field(default=None, metadata=_meta(min=0, open=True))
    target: float | None = field(default=None, metadata=_meta(min=0, max=1, open=True))
    demand: str = field(default="children", metadata=_meta(choices=DEMANDS))
    capacity: str | None = None


@dataclass(frozen=True)
class GapConfig:
    """``[gap]``: the planning layers reported on and the gap formula
    (:class:`assetmap.GapFormula`)."""

    by: list[str] = field(default_factory=lambda: ["ward"])
    access: float = field(default=1.0, metadata=_meta(min=0))
    need: float = field(default=1.0, metadata=_meta(min=0))
    deprived_deciles: int = field(default=2, metadata=_meta(min=1, max=10))
    priority: float = field(default=25.0, metadata=_meta(min=0, max=100))
    capacity: str | None = None


@dataclass(frozen=True)
class SuppressConfig:
    """``[suppress]``: disclosure control of people counts in the written files."""

    below: int | None = field(default=None, metadata=_meta(min=2))


@dataclass(frozen=True)
class OutputsConfig:
    """``[outputs]``: the folder outputs go to, and each command's file in it."""

    folder: Path = field(default=Path("out"), metadata=_meta(output=True))
    validate: str = "validation_report.csv"
    join: str = "joined.gpkg"
    gaps: str = "gaps.xlsx"
    map: str = "map.html"


@dataclass(frozen=True)
class MapConfig:
    """``[map]``: options of :func:`assetmap.make_map` and :func:`assetmap.write_map`."""

    layers: list[str] | None = None
    measure: str | None = None
    scheme: str = field(default="quantiles", metadata=_meta(choices=tuple(SCHEMES)))
    classes: int = field(default=5, metadata=_meta(min=2, max=9))
    tiles: str = "openstreetmap"
    offline: bool = True


@dataclass(frozen=True)
class Project:
    """A checked project file: typed settings with paths resolved (see the module docs)."""

    project: ProjectInfo = field(default_factory=ProjectInfo)
    boundaries: Boundaries = field(default_factory=Boundaries)
    registers: list[RegisterConfig] = field(default_factory=list)
    clusters: dict[str, ClusterConfig] = field(default_factory=dict)
    demand: DemandConfig | None = None
    analyse: list[AnalyseConfig] = field(default_factory=list)
    plan: list[PlanConfig] = field(default_factory=list)
    gap: GapConfig = field(default_factory=GapConfig)
    suppress: SuppressConfig = field(default_factory=SuppressConfig)
    outputs: OutputsConfig = field(default_factory=OutputsConfig)
    map: MapConfig = field(default_factory=MapConfig)
    file: Path = field(default=Path(PROJECT_FILE), metadata=_meta(internal=True))

    @property
    def title(self) -> str:
        return self.project.title

    @property
    def boundary_set(self) -> str | Path:
        """The boundary set as :func:`assetmap.load_boundary_set` takes it."""
        value = self.boundaries.set
        return self.file.parent / value if value.endswith(".toml") else value

    @cached_property
    def taxonomy(self) -> Taxonomy:
        """The built-in taxonomy extended by ``[project] taxonomy`` files."""
        from .taxonomy import load_taxonomy

        return load_taxonomy(*self.project.taxonomy)

    @property
    def register_paths(self) -> list[Path]:
        return [register.path for register in self.registers]

    def inputs(self) -> list[Path]:
        """Every file the project reads: this file (unless it was parsed from text),
        category files, registers, the boundary set's files (its TOML, layers and
        postcodes), extra layers, cluster tables and the demand tables; each once."""
        from .boundaries import as_boundary_set

        bset = as_boundary_set(self.boundary_set)
        clusters = [path for config in self.clusters.values()
                    for path in (config.members, config.polygons, config.areas) if path]
        demand = [] if self.demand is None else [self.demand.population,
                                                 self.demand.deprivation]
        files = [*([self.file] if self.file.is_file() else []), *self.project.taxonomy,
                 *self.register_paths, *(r.previous for r in self.registers if r.previous),
                 *([Path(self.boundary_set)] if isinstance(self.boundary_set, Path) else []),
                 *(spec.file for spec in bset.layers.values()),
                 self.boundaries.postcodes or bset.postcodes, *self.boundaries.layers.values(),
                 *clusters, *demand]
        return list(dict.fromkeys(Path(f) for f in files if f is not None))

    def common_kwargs(self) -> dict[str, Any]:
        """Boundary set, postcodes, taxonomy, study area and tolerance, as every end-to-end
        function (:func:`assetmap.validate_registers` and those calling it) takes them."""
        bounds = self.boundaries
        return dict(boundaries=self.boundary_set, postcodes=bounds.postcodes,
                    taxonomy=self.taxonomy, use_study_area=bounds.study_area,
                    tolerance=bounds.tolerance)

    def reading_kwargs(self, i: int) -> dict[str, Any]:
        """How register ``i`` (0-based) is read: sheet, header row, columns, category ..."""
        return _reading(self.registers[i])

    def register_kwargs(self, i: int) -> dict[str, Any]:
        """Keyword arguments reading and locating register ``i`` (0-based):
        ``validate_registers([project.registers[i].path], **project.register_kwargs(i))``."""
        return dict(self.common_kwargs(), **self.reading_kwargs(i))

    def shared_register_kwargs(self, paths: list[str | Path] | None = None) -> dict[str, Any]:
        """Keyword arguments reading ``paths`` (default: every register) in one call, as the
        library's end-to-end functions and the commands read registers. A path with no
        ``[[registers]]`` table is read with the default options; ``category`` and
        ``all_rows`` come from the registers with no type column (the others ignore them).
        An error when the registers are to be read differently."""
        listed = {register.path.resolve(): (f"registers[{i}]", register)
                  for i, register in enumerate(self.registers, 1)}
        chosen = list(listed.values()) if paths is None else [
            listed.get(Path(p).resolve(), (Path(p).name, RegisterConfig(Path(p))))
            for p in paths]
        if not chosen:
            raise AssetmapError("no [[registers]] table: name the registers", file=self.file)
        untyped = [item for item in chosen if not item[1].typed] or chosen
        first_key, shared = untyped[0][0], _reading(untyped[0][1])
        for key, register in chosen:
            differ = [name for name, value in _reading(register).items() if value != shared[name]
                      and not (register.typed and name in ("category", "all_rows"))]
            if differ:
                name = "columns" if differ[0] == "roles" else differ[0]
                raise AssetmapError(
                    f"{key}.{name} differs from {first_key}.{name}: these registers cannot be "
                    "read in one call; run the command on each", file=self.file)
        return dict(self.common_kwargs(), **shared)

    def layer_items(self, names: list[str], built: Mapping[str, Path] | None = None
                    ) -> list[str]:
        """``--layers`` items (:func:`assetmap.layer_spec`) for layer names: the boundary
        set's as they are, extra layers and ``built`` cluster layers as ``NAME=PATH``."""
        files = {**self.boundaries.layers, **(built or {})}
        return [f"{name}={files[name]}" if name in files else name for name in names]

    def cluster_layers(self) -> dict[str, str]:
        """Layer name -> cluster name, for the cluster layers and their areas' layers."""
        layers = {name: name for name in self.clusters}
        layers.update({self.areas_layer(name): name for name, config in self.clusters.items()
                       if config.areas is not None})
        return layers

    def areas_layer(self, name: str) -> str:
        """The name of cluster ``name``'s Area Advisory Network layer."""
        return self.clusters[name].areas_layer or f"{name}_areas"

    def cluster_kwargs(self, name: str) -> dict[str, Any]:
        """Keyword arguments of :func:`assetmap.build_clusters` for ``[clusters.NAME]``,
        its registers as ``paths``."""
        config = self.clusters[name]
        return dict(self.shared_register_kwargs(config.registers),
                    paths=list(config.registers), **self.cluster_options(name))

    def cluster_options(self, name: str) -> dict[str, Any]:
        """How ``[clusters.NAME]`` draws its clusters: the keyword arguments of
        :func:`assetmap.build_clusters` for its member sites already located."""
        config = self.clusters[name]
        return dict(members=config.members, cluster=config.cluster, cluster_name=config.name,
                    member_id=config.member_id, method=config.method, blocks=config.blocks,
                    polygons=config.polygons, areas=config.areas)

    def formula(self) -> GapFormula:
        from .gaps import GapFormula

        gap = self.gap
        return GapFormula(access=gap.access, need=gap.need, deciles=gap.deprived_deciles,
                          priority=gap.priority)

    def gap_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`assetmap.gap_analysis` but for the registers and the
        layers: ``gap_analysis(project.register_paths, by=project.layer_items(project.gap.by,
        built), **project.gap_kwargs())``. ``category`` is the analysed ones (one as text:
        it is also given to registers with no type column, see :meth:`_gaps_categories`)."""
        self._gaps_categories()
        reading = {k: v for k, v in self.shared_register_kwargs().items() if k != "category"}
        return dict(reading, **self.analysis_kwargs())

    def analysis_kwargs(self) -> dict[str, Any]:
        """The demand tables, categories, thresholds and formula of
        :func:`assetmap.gap_analysis`: its keyword arguments for located assets."""
        if self.demand is None:
            raise AssetmapError("no [demand] table: gaps need population tables",
                                file=self.file)
        demand, labels = self.demand, [item.category for item in self.analyse]
        return dict(
            population=demand.population, deprivation=demand.deprivation,
            demand_columns=dict(demand.columns), small_areas=demand.small_areas,
            points=demand.points, aggregation=demand.aggregate,
            category=labels[0] if len(labels) == 1 else labels or None,
            threshold={item.category: item.threshold for item in self.analyse
                       if item.threshold is not None} or None,
            formula=self.formula(), capacity=self.gap.capacity)

    def built_layers(self) -> dict[str, Path]:
        """Where ``assetmap clusters build --config`` writes each cluster layer (and its
        areas' layer): ``<outputs folder>/<name>.gpkg`` and ``<name>_areas.gpkg``."""
        from .outputs import cluster_outputs

        built = {}
        for name, config in self.clusters.items():
            files = cluster_outputs(self.outputs.folder / f"{name}.gpkg",
                                    areas=config.areas is not None)
            built[name] = files[0]
            if config.areas is not None:
                built[self.areas_layer(name)] = files[3]
        return built

    def command_defaults(self, command: str) -> dict[str, Any]:
        """Default option values of an ``assetmap`` command (``"gaps"``, ``"clusters
        build"``) under ``--config``, by parameter name: click's ``default_map`` for it.

        Register reading options (sheet, columns, category, ...) are not among them: they
        belong to each register (:meth:`shared_register_kwargs`). Options the command
        cannot take from this project (several clusters for one ``clusters build``,
        thresholds differing by category for ``gaps``) are a one-line error.
        """
        folder, demand = self.outputs.folder, self.demand
        common = dict(registers=[str(p) for p in self.register_paths],
                      boundaries=str(self.boundary_set),
                      taxonomies=[str(p) for p in self.project.taxonomy],
                      no_study_area=not self.boundaries.study_area,
                      tolerance=self.boundaries.tolerance)
        if self.boundaries.postcodes is not None:
            common["postcodes"] = str(self.boundaries.postcodes)
        by = ",".join(self.layer_items(self.gap.by, self.built_layers()))
        if command == "validate":
            return dict(common, report=str(folder / self.outputs.validate))
        if command == "join":
            return dict(common, layers=by, output=str(folder / self.outputs.join))
        if command == "map":
            shown = self.layer_items(self.map.layers, self.built_layers()) \
                if self.map.layers else None
            return dict(common, layers=",".join(shown) if shown else by,
                        measure=[self.map.measure] if self.map.measure else [],
                        scheme=self.map.scheme, classes=self.map.classes,
                        tiles=self.map.tiles, offline=self.map.offline, title=self.title,
                        output=str(folder / self.outputs.map))
        people = {} if demand is None else dict(  # the demand options of gaps and plan
            population=str(demand.population), small_areas=demand.small_areas,
            deprivation=None if demand.deprivation is None else str(demand.deprivation),
            points=demand.points, aggregation=demand.aggregate,
            demand_columns=[f"{r}={c}" for r, c in demand.columns.items()])
        if command == "gaps":
            self._gaps_categories()
            return dict(common, **people, by=by, access_weight=self.gap.access,
                        need_weight=self.gap.need, deprived_deciles=self.gap.deprived_deciles,
                        priority_score=self.gap.priority, capacity=self.gap.capacity,
                        suppress_below=self.suppress.below,
                        output=str(folder / self.outputs.gaps), **self._one_analysis())
        if command in ("near", "finder"):
            return common
        if command == "diff":
            return dict(common, **people, by=by, output=str(folder / "changes.xlsx"))
        if command.startswith("plan "):
            return dict(common, **people, by=by, tiles=self.map.tiles,
                        output=str(folder / f"{command.split()[1]}.xlsx"))
        if command in ("clusters build", "clusters overlap"):
            name = self._one_cluster(command)
            config = self.clusters[name]
            if command == "clusters overlap":
                values = dict(clusters=str(self.built_layers()[name]),
                              layers=",".join(self.layer_items(config.overlap,
                                                               self.built_layers())),
                              boundaries=str(self.boundary_set),
                              output=str(folder / f"{name}_overlap.csv"))
                if demand is not None:
                    values.update(population=str(demand.population),
                                  population_layer=demand.small_areas,
                                  population_code=demand.columns.get("code"),
                                  population_column=demand.columns.get("population"))
                return values
            return dict(common, registers=[str(p) for p in config.registers],
                        members=config.members and str(config.members),
                        cluster=config.cluster, cluster_name=config.name,
                        member_id=config.member_id,
                        method=None if config.method == "file" else config.method,
                        blocks=config.blocks, polygons=config.polygons and str(config.polygons),
                        areas=config.areas and str(config.areas),
                        output=str(self.built_layers()[name]))
        return {}

    def _one_analysis(self) -> dict[str, Any]:
        """``category`` and ``threshold`` of ``assetmap gaps``, which takes one of each."""
        thresholds = {item.threshold for item in self.analyse}
        if len(thresholds) > 1:
            raise AssetmapError("analyse[*].threshold: 'assetmap gaps' takes one threshold "
                                "for every category; give each [[analyse]] the same one, or "
                                "run it with --category and --threshold", file=self.file)
        single = self.analyse[0].category if len(self.analyse) == 1 else None
        return dict(category=single, threshold=thresholds.pop() if thresholds else None)

    def _gaps_categories(self) -> None:
        """``assetmap gaps`` gives registers with no type column the category it analyses
        (``--category``): their own must be that one."""
        single = self.analyse[0].category if len(self.analyse) == 1 else None
        for i, register in enumerate(self.registers, 1):
            for name in ("category", "all_rows"):
                value = getattr(register, name)
                if not register.typed and value is not None and value != single:
                    raise AssetmapError(
                        f"registers[{i}].{name}: 'assetmap gaps' gives registers with no type "
                        f"column the category it analyses ({single or 'none: several'}), not "
                        f"{value!r}; run it on that register with --category", file=self.file)

    def _one_cluster(self, command: str) -> str:
        if len(self.clusters) != 1:
            raise AssetmapError(f"'assetmap {command} --config' takes a project with one "
                                f"[clusters.NAME] table; it has {len(self.clusters)}",
                                file=self.file)
        return next(iter(self.clusters))


#: The options of :func:`assetmap.load_assets` that belong to each register.
READING_OPTIONS = ("sheet", "header_row", "roles", "category", "all_rows", "fix_postcodes")


def _reading(register: RegisterConfig) -> dict[str, Any]:
    """How to read one register (:data:`READING_OPTIONS`), as :func:`assetmap.load_assets`
    takes it."""
    return dict(sheet=register.sheet, header_row=register.header_row,
                roles=dict(register.columns), category=register.category,
                all_rows=register.all_rows, fix_postcodes=register.fix_postcodes)


def load_project(path: str | Path) -> Project:
    """Read and check a project file (see the module docs): the first problem is an
    :class:`AssetmapError` naming the file, the key and the problem."""
    from .registers import refuse_special_file

    path = Path(path)
    if path.is_dir():
        path = path / PROJECT_FILE
    refuse_special_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AssetmapError("project file not found (write one with 'assetmap init')",
                            file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AssetmapError(f"cannot read the project file ({first_line(exc)})",
                            file=path) from None
    return parse_project(text, path)


def parse_project(text: str, path: str | Path = PROJECT_FILE) -> Project:
    """A project from TOML text, as if read from ``path`` (paths are relative to its
    folder)."""
    path = Path(path)
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AssetmapError(f"not valid TOML ({exc})", file=path) from None
    reader = _Reader(path)
    return _check_data(dataclasses.replace(reader.build(Project, table, ""), file=path), reader)


# -- the schema reader -----------------------------------------------------------------------

_KINDS = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
          Path: "a file path", list: "a list", dict: "a table"}


def _keys(name: str) -> tuple[str, ...]:
    """Allowed keys of a ``keys`` table: column roles of registers or of demand tables."""
    if name == "roles":
        from .registers import ROLE_NAMES

        return tuple(ROLE_NAMES)
    from .demand import DEMAND_ROLES

    return ("code", *DEMAND_ROLES)


class _Reader:
    """Builds dataclasses from TOML tables, naming each problem by its dotted key."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.base = file.parent

    def fail(self, key: str, problem: str) -> typing.NoReturn:
        raise AssetmapError(f"{key}: {problem}" if key else problem, file=self.file)

    def build(self, cls, table: Any, key: str):
        if not isinstance(table, dict):
            self.fail(key, f"expected a table, got {_shown(table)}")
        fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
        for name in table:
            if name not in fields:
                close = difflib.get_close_matches(name, list(fields), n=1)
                hint = f"did you mean {close[0]!r}?" if close else \
                    f"keys are {', '.join(fields)}"
                self.fail(_join(key, name), f"unknown key; {hint}")
        hints = typing.get_type_hints(cls)
        values = {}
        for name, spec in fields.items():
            where = _join(key, name)
            if name in table:
                values[name] = self.value(hints[name], table[name], where, spec.metadata)
            elif spec.default is dataclasses.MISSING and \
                    spec.default_factory is dataclasses.MISSING:
                self.fail(where, "missing: this key is required")
            elif isinstance(spec.default, Path):
                values[name] = self.path(spec.default, where, spec.metadata)
            elif dataclasses.is_dataclass(hints[name]):  # an absent table: its defaults
                values[name] = self.build(hints[name], {}, where)
        return cls(**values)

    def value(self, hint, value: Any, key: str, meta: Mapping) -> Any:
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        options = tuple(o for o in options if o is not type(None))
        origin = typing.get_origin(options[0])
        if origin is list:
            if not isinstance(value, list):
                self.fail(key, f"expected a list, got {_shown(value)}")
            (item,) = typing.get_args(options[0])
            return [self.value(item, v, f"{key}[{i}]", meta) for i, v in enumerate(value, 1)]
        if origin is dict:
            if not isinstance(value, dict):
                self.fail(key, f"expected a table, got {_shown(value)}")
            allowed = _keys(meta["keys"]) if "keys" in meta else None
            for name in value:
                if allowed is not None and name not in allowed:
                    close = difflib.get_close_matches(name, allowed, n=1)
                    hint_text = f"did you mean {close[0]!r}?" if close else \
                        f"roles are {', '.join(allowed)}"
                    self.fail(_join(key, name), f"unknown column role; {hint_text}")
            _, item = typing.get_args(options[0])
            return {name: self.value(item, v, _join(key, name), {})
                    for name, v in value.items()}
        if dataclasses.is_dataclass(options[0]):
            return self.build(options[0], value, key)
        return self.scalar(options, value, key, meta)

    def scalar(self, options: tuple, value: Any, key: str, meta: Mapping) -> Any:
        fits = [o for o in options if _fits(o, value)]
        if not fits:
            wanted = " or ".join(_KINDS[o] for o in options)
            self.fail(key, f"expected {wanted}, got {_shown(value)}")
        kind = fits[0]
        if kind is Path:
            return self.path(value, key, meta)
        if kind is float:
            value = float(value)
        if "choices" in meta and value not in meta["choices"]:
            close = difflib.get_close_matches(str(value), meta["choices"], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.fail(key, f"{value!r} is not one of {', '.join(meta['choices'])}{hint}")
        low, high = meta.get("min"), meta.get("max")
        if low is not None and (value < low or (value == low and meta.get("open"))):
            self.fail(key, f"must be {'more than' if meta.get('open') else 'at least'} {low}, "
                           f"got {value!r}")
        if high is not None and value > high:
            self.fail(key, f"must be at most {high}, got {value!r}")
        return value

    def path(self, value: str | Path, key: str, meta: Mapping) -> Path:
        if not str(value).strip():
            self.fail(key, "expected a file path, got an empty text")
        path = self.base / Path(value).expanduser()
        if meta.get("output"):
            if path.exists() and not path.is_dir():
                self.fail(key, f"{str(value)!r} is a file, not a folder")
        elif not path.is_file():
            self.fail(key, f"file not found: {path}" if not path.is_dir()
                      else f"{path} is a folder, not a file")
        return path


def _fits(kind: type, value: Any) -> bool:
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is Path:
        return isinstance(value, str)
    return isinstance(value, kind)


def _shown(value: Any) -> str:
    kind = next((name for t, name in _KINDS.items() if t is not Path and _fits(t, value)),
                type(value).__name__)
    text = repr(value)
    return f"{kind} {text if len(text) <= 40 else text[:37] + '...'}"


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


# -- checks against the data -----------------------------------------------------------------

def _check_data(project: Project, reader: _Reader) -> Project:
    """The checks that read something: boundary set, categories, headers, layer names.
    Returns the project with its categories as the taxonomy labels them, and which
    registers have a type column."""
    from .registers import detect_roles

    bset = _boundary_set(project, reader)
    taxonomy = _taxonomy(project, reader)
    headers = _Headers(reader)
    registers = {register.path: i for i, register in enumerate(project.registers)}
    for i, register in enumerate(project.registers, 1):
        key = f"registers[{i}]"
        columns = headers.of(register.path, f"{key}.path", register.sheet, register.header_row)
        for role, column in register.columns.items():
            _column_in(reader, f"{key}.columns.{role}", column, columns, register.path)
        labels = {name: _category(reader, f"{key}.{name}", getattr(register, name), taxonomy)
                  for name in ("category", "all_rows")}
        typed = "type" in detect_roles(columns, register.columns)
        project.registers[i - 1] = dataclasses.replace(register, **labels, typed=typed)
    for i, item in enumerate(project.analyse, 1):
        project.analyse[i - 1] = dataclasses.replace(
            item, category=_category(reader, f"analyse[{i}].category", item.category, taxonomy))
    for i, item in enumerate(project.plan, 1):
        needed = "target" if item.problem == "setcover" else "k"
        if getattr(item, needed) is None:
            reader.fail(f"plan[{i}].{needed}", f"missing: problem {item.problem!r} needs it")
        project.plan[i - 1] = dataclasses.replace(
            item, category=_category(reader, f"plan[{i}].category", item.category, taxonomy))
    known = [*bset.layers, *project.boundaries.layers, *project.cluster_layers()]
    for name, config in project.clusters.items():
        key = f"clusters.{name}"
        if name in bset.layers or name in project.boundaries.layers:
            reader.fail(key, "a layer of this name exists already; choose another name")
        if (config.method == "file") != (config.polygons is not None):
            reader.fail(f"{key}.polygons", "give polygons with method = \"file\", and only then")
        for j, path in enumerate(config.registers, 1):
            if path not in registers:
                reader.fail(f"{key}.registers[{j}]", f"{path.name} is not a [[registers]] path")
        if config.members is not None:
            where = [headers.of(config.members, f"{key}.members")]
        else:
            where = [headers.of(path, f"{key}.registers", project.registers[registers[path]]
                                .sheet, project.registers[registers[path]].header_row)
                     for path in config.registers]
        for column_key in ("cluster", "name", "member_id"):
            column = getattr(config, column_key)
            if column is not None and all(column not in columns for columns in where):
                source = config.members or config.registers[0]
                _column_in(reader, f"{key}.{column_key}", column, where[0], source)
        _layers(reader, f"{key}.blocks", [config.blocks], list(bset.layers))
        _layers(reader, f"{key}.overlap", config.overlap, known)
    if project.demand is not None:
        demand = project.demand
        columns = headers.of(demand.population, "demand.population")
        if demand.deprivation is not None:
            columns = columns + headers.of(demand.deprivation, "demand.deprivation")
        for role, column in demand.columns.items():
            _column_in(reader, f"demand.columns.{role}", column, columns, demand.population)
        _layers(reader, "demand.small_areas", [demand.small_areas], list(bset.layers))
        if demand.points != "postcodes":
            _layers(reader, "demand.points", [demand.points], list(bset.layers))
    _layers(reader, "gap.by", project.gap.by, known)
    _layers(reader, "map.layers", project.map.layers or [], known)
    if project.map.measure is not None:
        layer, sep, column = project.map.measure.rpartition(":")
        if not (sep and layer and column):
            reader.fail("map.measure", f"expected LAYER:COLUMN (ward:gap_score), got "
                                       f"{project.map.measure!r}")
        _layers(reader, "map.measure", [layer], known)
    if project.gap.capacity is not None:
        every = [c for path in registers for c in headers.seen.get(path, [])]
        if project.gap.capacity.casefold() not in {c.casefold() for c in every}:
            reader.fail("gap.capacity", f"no register has a column {project.gap.capacity!r}")
    return project


def _boundary_set(project: Project, reader: _Reader):
    from .boundaries import load_boundary_set

    value = project.boundaries.set
    if value.endswith(".toml") and not (reader.base / value).is_file():
        reader.fail("boundaries.set", f"file not found: {reader.base / value}")
    if not value.endswith(".toml"):
        known = sorted(p.stem for p in resource_dir("boundaries").glob("*.toml"))
        if value not in known:
            reader.fail("boundaries.set", f"no boundary set {value!r}; known sets are "
                                          f"{', '.join(known)}, or give a .toml file")
    try:
        return load_boundary_set(project.boundary_set)
    except AssetmapError as error:
        reader.fail("boundaries.set", str(error))


def _taxonomy(project: Project, reader: _Reader) -> Taxonomy:
    try:
        return project.taxonomy
    except AssetmapError as error:
        reader.fail("project.taxonomy", str(error))


def _category(reader: _Reader, key: str, text: str | None, taxonomy: Taxonomy) -> str | None:
    """The taxonomy label ``text`` names (None for None)."""
    from .locate import known_category

    if text is None:
        return None
    try:
        return known_category(text, taxonomy)
    except AssetmapError as error:
        reader.fail(key, str(error))


def _layers(reader: _Reader, key: str, names: list[str], known: list[str]) -> None:
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"layers are {', '.join(known)}"
            reader.fail(key, f"no layer {name!r}; {hint}")


def _column_in(reader: _Reader, key: str, column: str, columns: list[str], file: Path) -> None:
    if column not in columns:
        close = difflib.get_close_matches(column, columns, n=1)
        hint = f"did you mean {close[0]!r}?" if close else \
            f"its columns are {', '.join(columns[:12])}" + (" ..." if len(columns) > 12 else "")
        reader.fail(key, f"no column {column!r} in {file.name}; {hint}")


class _Headers:
    """The column names of each file read by the checks, read once."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.seen: dict[Path, list[str]] = {}

    def of(self, path: Path, key: str, sheet: str | int | None = None,
           header_row: int | None = None) -> list[str]:
        from .registers import read_register

        if path not in self.seen:
            try:
                register = read_register(path, sheet=sheet,
                                         header_row=header_row)
            except AssetmapError as error:
                self.reader.fail(key, str(error))
            self.seen[path] = [str(c) for c in register.frame.columns if c != "geometry"]
        return self.seen[path]
