"""The project file: schema checks (one line naming file and key), relative paths, the
library keyword arguments, and ``assetmap init`` on the Bradford bundle."""

from __future__ import annotations

import inspect
import shutil
import textwrap
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

import assetmap
from assetmap import project as project_module
from assetmap.cli.main import cli
from assetmap.errors import AssetmapError
from assetmap.project import load_project, parse_project

BUNDLE = ("gp_practices.csv", "schools.csv", "population_lsoa.csv", "imd2019_lsoa.csv")


@pytest.fixture
def study(data, tmp_path) -> Path:
    """A study folder holding copies of Bradford's registers and small-area tables."""
    for name in BUNDLE:
        shutil.copy(data / "bradford" / name, tmp_path / name)
    return tmp_path


def _hubs(path: Path) -> Path:
    """A register whose header is on row 3 of sheet 'Sites', with an unusual type column."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sites"
    rows = [["Family hub sites, 2025"], [],
            ["Site", "Type of Provision", "Post Code", "Kind", "easting", "northing"],
            ["City Hub", "Family hub site", "BD1 1HY", "Community centre", "416300", "433100"],
            ["Keighley Hub", "Family hub site", "BD21 3RU", "Community centre", "406500",
             "441100"]]
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


MINIMAL = """\
[[registers]]
path = "gp_practices.csv"
category = "GP practice"

[[registers]]
path = "schools.csv"
columns = { type = "TypeOfEstablishment (name)" }

[demand]
population = "population_lsoa.csv"
deprivation = "imd2019_lsoa.csv"

[[analyse]]
category = "school"
threshold = 800
"""


def _error(study: Path, text: str) -> str:
    path = study / "assetmap.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AssetmapError) as caught:
        load_project(path)
    return str(caught.value)


@pytest.mark.parametrize("change, key, problem", [
    (("threshold = 800", "threshhold = 800"), "analyse[1].threshhold",
     "unknown key; did you mean 'threshold'?"),
    (("[demand]", "[demmand]"), "demmand", "did you mean 'demand'?"),
    (("threshold = 800", 'threshold = "800"'), "analyse[1].threshold",
     "expected a number, got text '800'"),
    (("threshold = 800", "threshold = 0"), "analyse[1].threshold", "must be more than 0"),
    (('path = "schools.csv"', 'path = "school.csv"'), "registers[2].path", "file not found"),
    (('{ type = "TypeOfEstablishment (name)" }', '{ typ = "TypeOfEstablishment (name)" }'),
     "registers[2].columns.typ", "unknown column role; did you mean 'type'?"),
    (('{ type = "TypeOfEstablishment (name)" }', '{ type = "TypeOfEstablishment" }'),
     "registers[2].columns.type",
     "no column 'TypeOfEstablishment' in schools.csv; did you mean "
     "'TypeOfEstablishment (name)'?"),
    (('category = "school"', 'category = "skool"'), "analyse[1].category",
     "category 'skool' is not in the taxonomy (closest: School)"),
    (('category = "GP practice"', "category = 3"), "registers[1].category",
     "expected text, got a whole number 3"),
    (("[[analyse]]", "[gap]\nby = ['ward', 'pnc']\n\n[[analyse]]"), "gap.by",
     "no layer 'pnc'; layers are ward, constituency, lsoa"),
    (("[demand]", "[demand]\ncolumns = { children = 'Kids' }"), "demand.columns.children",
     "no column 'Kids' in population_lsoa.csv"),
    (("[demand]", "[boundaries]\nset = 'bradferd'\n\n[demand]"), "boundaries.set",
     "no boundary set 'bradferd'"),
    (("[demand]", "[map]\nmeasure = 'gap_score'\n\n[demand]"), "map.measure",
     "expected LAYER:COLUMN (ward:gap_score), got 'gap_score'"),
    (("[demand]", "[map]\nmeasure = 'wards:gap_score'\n\n[demand]"), "map.measure",
     "no layer 'wards'; did you mean 'ward'?"),
    (("[demand]", "[[plan]]\ncategory = 'GP practice'\ncandidates = ['schools.csv']\n\n"
                  "[demand]"), "plan[1].k", "missing: problem 'cover' needs it"),
    (("[demand]", "[[plan]]\ncategory = 'GP practice'\ncandidates = ['schools.csv']\n"
                  "problem = 'pmedian'\nk = 2\n\n[demand]"), "plan[1].problem",
     "'pmedian'"),
])
def test_each_problem_is_one_line_naming_file_and_key(study, change, key, problem):
    text = MINIMAL.replace(*change)
    assert text != MINIMAL
    message = _error(study, text)
    assert "\n" not in message
    assert message.startswith(f"{study / 'assetmap.toml'}: {key}: ")
    assert problem in message


def test_a_required_key_and_bad_toml_are_named(study):
    assert _error(study, "[[registers]]\nsheet = 2\n").endswith(
        "registers[1].path: missing: this key is required")
    message = _error(study, "[[registers]\npath = 1\n")
    assert "not valid TOML" in message and "line 1" in message and "\n" not in message


def test_a_cluster_must_name_its_registers_and_existing_columns(study):
    base = MINIMAL + '\n[clusters.pcn]\nregisters = ["gp_practices.csv"]\ncluster = "pcn_code"\n'
    assert load_project_text(study, base).clusters["pcn"].cluster == "pcn_code"
    message = _error(study, base.replace('["gp_practices.csv"]', '["schools.csv", "x.csv"]'))
    assert "clusters.pcn.registers[2]: file not found" in message
    message = _error(study, base.replace('"pcn_code"', '"pcn_cod"'))
    assert "clusters.pcn.cluster: no column 'pcn_cod' in gp_practices.csv; did you mean " \
           "'pcn_code'?" in message


def load_project_text(study: Path, text: str) -> project_module.Project:
    path = study / "assetmap.toml"
    path.write_text(text, encoding="utf-8")
    return load_project(path)


def test_paths_are_relative_to_the_file_not_the_working_folder(study, tmp_path_factory,
                                                               monkeypatch):
    (study / "registers").mkdir()
    shutil.move(study / "schools.csv", study / "registers" / "schools.csv")
    nested = study / "projects" / "2025"
    nested.mkdir(parents=True)
    text = MINIMAL.replace('"gp_practices.csv"', '"../../gp_practices.csv"') \
        .replace('"schools.csv"', '"../../registers/schools.csv"') \
        .replace('"population_lsoa.csv"', '"../../population_lsoa.csv"') \
        .replace('"imd2019_lsoa.csv"', '"../../imd2019_lsoa.csv"')
    (nested / "assetmap.toml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    project = load_project(nested / "assetmap.toml")
    assert [p.resolve() for p in project.register_paths] == [
        study / "gp_practices.csv", study / "registers" / "schools.csv"]
    assert project.demand.population.resolve() == study / "population_lsoa.csv"
    assert project.outputs.folder == nested / "out"
    assert load_project(nested).file == nested / "assetmap.toml"  # a folder finds its file


def test_keyword_arguments_drive_the_library(study, data):
    """A type column with an unusual header, named once, is used to read the register."""
    _hubs(study / "hubs.xlsx")
    text = MINIMAL + textwrap.dedent(f"""
        [boundaries]
        postcodes = "{data / 'bradford' / 'postcodes_bd.csv'}"

        [[registers]]
        path = "hubs.xlsx"
        sheet = "Sites"
        header_row = 3
        columns = {{ type = "Type of Provision", postcode = "Post Code" }}
    """)
    project = load_project_text(study, text)
    kwargs = project.register_kwargs(2)
    assert kwargs["roles"] == {"type": "Type of Provision", "postcode": "Post Code"}
    assets, audit = assetmap.validate_registers([project.registers[2].path], **kwargs)
    assert list(assets["category"]) == ["Family hub site", "Family hub site"]
    assert list(audit["row"]) == [4, 5]
    with pytest.raises(AssetmapError, match=r"registers\[1\]\.category: 'assetmap gaps' gives "
                                            r"registers with no type column the category it "
                                            r"analyses \(School\), not 'GP practice'"):
        project.gap_kwargs()  # gap_analysis would take every GP practice for a school
    alike = MINIMAL.replace('category = "GP practice"', "").replace(
        'columns = { type = "TypeOfEstablishment (name)" }', "")  # detected, as in gp_practices
    gap = load_project_text(study, alike).gap_kwargs()
    assert gap["category"] == "School" and gap["threshold"] == {"School": 800.0}
    with pytest.raises(AssetmapError, match=r"registers\[2\]\.columns differs from "
                                            r"registers\[1\]\.columns"):
        project.shared_register_kwargs()
    assert project.shared_register_kwargs([study / "hubs.xlsx"])["sheet"] == "Sites"


def test_init_writes_a_starter_that_loads_with_what_it_found(study, data):
    shutil.copy(data / "bradford" / "wards.geojson", study / "localities.geojson")
    result = CliRunner().invoke(cli, ["init", str(study)])
    assert result.exit_code == 0, result.output
    written = study / "assetmap.toml"
    text = written.read_text(encoding="utf-8")
    assert "# columns = { id = \"practice_code\", name = \"practice_name\"" in text
    project = load_project(written)
    assert [p.name for p in project.register_paths] == ["gp_practices.csv", "schools.csv"]
    assert '# category = "GP practice"  # no type column' in text  # from the file name
    assert [r.typed for r in project.registers] == [False, True]
    assert project.demand.population.name == "population_lsoa.csv"
    assert project.demand.deprivation.name == "imd2019_lsoa.csv"
    assert [a.category for a in project.analyse] == ["GP practice", "School"]
    assert project.clusters["pcn"].cluster == "pcn_code"
    assert project.clusters["pcn"].name == "pcn_name"
    assert project.boundaries.layers == {"localities": study / "localities.geojson"}
    assert project.gap.by == ["ward", "constituency", "localities", "pcn"]
    assert project.command_defaults("gaps")["category"] is None  # both analysed

    again = CliRunner().invoke(cli, ["init", str(study)])
    assert again.exit_code == 2
    assert again.output.strip().count("\n") == 0 and "exists already" in again.output
    assert written.read_text(encoding="utf-8") == text


def test_init_finds_gzipped_tables(data, tmp_path):
    """England's tables ship as .csv.gz: init takes them as the population and IMD tables."""
    shutil.copy(data / "bradford" / "gp_practices.csv", tmp_path)
    for name in ("population_lsoa_england.csv.gz", "imd2019_lsoa_england.csv.gz"):
        shutil.copy(data / "national" / name, tmp_path)
    assert CliRunner().invoke(cli, ["init", str(tmp_path)]).exit_code == 0
    project = load_project(tmp_path / "assetmap.toml")
    assert project.demand.population.name == "population_lsoa_england.csv.gz"
    assert project.demand.deprivation.name == "imd2019_lsoa_england.csv.gz"


def test_init_in_an_empty_folder_still_loads(tmp_path):
    assert CliRunner().invoke(cli, ["init", str(tmp_path)]).exit_code == 0
    project = load_project(tmp_path / "assetmap.toml")
    assert project.registers == [] and project.demand is None


def test_init_keeps_hostile_headers_and_names_inside_comments_and_strings(tmp_path):
    folder = tmp_path / 'odd "study"'
    folder.mkdir()
    (folder / 'venues "new".csv').write_text(
        '"Site ""Name""\n[gap]\nby = 1",Postcode,"Type\r\n# \u0007"\n'
        'Hub,BD1 1HY,Family hub site\n', encoding="utf-8")
    assert CliRunner().invoke(cli, ["init", str(folder)]).exit_code == 0
    project = load_project(folder)
    assert project.registers[0].path.name == 'venues "new".csv'
    assert project.gap.by == ["ward", "constituency"]
    assert [a.category for a in project.analyse] == ["Family hub site"]


def test_the_documented_example_loads(study):
    example = inspect.getdoc(project_module).split("::", 1)[1]
    _hubs(study / "hubs.xlsx")
    _hubs(study / "venues.xlsx")  # candidate sites of the [[plan]]
    _hubs(study / "hubs_2026-10.xlsx")  # the previous snapshot
    (study / "our_categories.toml").write_text(
        '[categories.family_hub]\nsynonyms = ["hub site"]\n', encoding="utf-8")
    for name in ("localities.gpkg", "networks.csv"):
        (study / name).write_text("", encoding="utf-8")  # only their presence is checked
    project = parse_project(textwrap.dedent(example), study / "assetmap.toml")
    assert project.title == "Family hubs in Bradford"
    assert project.layer_items(project.gap.by) == [
        "ward", "constituency", f"locality={study / 'localities.gpkg'}", "pcn", "aan"]
    assert project.cluster_layers() == {"pcn": "pcn", "aan": "pcn"}
    assert project.suppress.below == 10
    assert project.plan[0].category == "Family hub site" and project.plan[0].k == 3


def test_every_setting_maps_onto_a_real_parameter(study):
    """The keyword arguments bind to the library functions, and the command defaults name
    parameters of their commands."""
    assert CliRunner().invoke(cli, ["init", str(study)]).exit_code == 0
    project = load_project(study)
    inspect.signature(assetmap.build_clusters).bind(**project.cluster_kwargs("pcn"))
    inspect.signature(assetmap.gap_analysis).bind(
        project.register_paths, by=project.layer_items(project.gap.by), **project.gap_kwargs())
    gap = project.gap_kwargs()
    assert gap["category"] == ["GP practice", "School"] and gap["threshold"] is None
    assert gap["population"] == study / "population_lsoa.csv" and "roles" in gap
    inspect.signature(assetmap.load_assets).bind(
        [], **{k: v for k, v in project.register_kwargs(0).items()
               if k not in ("boundaries", "use_study_area")})
    for path in ("validate", "join", "gaps", "map", "clusters build", "clusters overlap"):
        command = cli
        for name in path.split():
            command = command.commands[name]
        params = {param.name for param in command.params}
        assert set(project.command_defaults(path)) <= params, path


def _configured(study: Path, data: Path) -> Path:
    """An ``assetmap init`` project on the bundle, located by Bradford's own postcodes, with
    a register whose type column has an unusual header, named once."""
    assert CliRunner().invoke(cli, ["init", str(study)]).exit_code == 0
    _hubs(study / "hubs.xlsx")
    path = study / "assetmap.toml"
    postcodes = data / "bradford" / "postcodes_bd.csv"
    text = path.read_text(encoding="utf-8").replace(
        'set = "bradford"', f'set = "bradford"\npostcodes = "{postcodes}"')
    path.write_text(text + textwrap.dedent("""
        [[registers]]
        path = "hubs.xlsx"
        sheet = "Sites"
        header_row = 3
        columns = { type = "Type of Provision", postcode = "Post Code" }
    """), encoding="utf-8")
    return path


def test_config_gives_the_commands_their_defaults(study, data):
    config = _configured(study, data)
    result = CliRunner().invoke(cli, ["validate", "--config", str(config)])
    assert result.exit_code == 2  # three registers, read differently: one line
    assert result.stderr.strip().endswith("registers[3].sheet differs from registers[1].sheet: "
                                          "these registers cannot be read in one call; run "
                                          "the command on each")
    assert not (study / "out").exists()

    result = CliRunner().invoke(cli, ["validate", str(study / "hubs.xlsx"), "--config",
                                      str(study)])
    assert result.exit_code == 0, result.output
    report = pd.read_csv(study / "out" / "validation_report.csv")
    assert list(report["category"]) == ["Family hub site", "Family hub site"]
    assert list(report["row"]) == [4, 5]

    result = CliRunner().invoke(cli, ["clusters", "build", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert (study / "out" / "pcn.gpkg").exists()  # where the layer pcn of [gap] by is read
    result = CliRunner().invoke(cli, ["join", str(study / "hubs.xlsx"), "--config",
                                      str(config), "-o", study / "hubs.csv"])
    assert result.exit_code == 0, result.output
    joined = pd.read_csv(study / "hubs.csv")
    assert set(joined["category"]) == {"Family hub site"}
    assert {"ward_code", "constituency_code", "pcn_code"} <= set(joined.columns)
    assert joined["pcn_code"].str.startswith("U").all()


def test_a_config_error_is_one_line_exit_2_and_writes_nothing(study):
    (study / "assetmap.toml").write_text(MINIMAL.replace("[demand]", "[demmand]"),
                                         encoding="utf-8")
    before = sorted(study.iterdir())
    result = CliRunner().invoke(cli, ["gaps", "--config", str(study / "assetmap.toml")])
    assert result.exit_code == 2
    assert result.stderr == (f"assetmap: error: {study / 'assetmap.toml'}: demmand: unknown "
                             "key; did you mean 'demand'?\n")
    assert sorted(study.iterdir()) == before


def test_gaps_from_an_init_project_with_its_cluster_layer(study):
    assert CliRunner().invoke(cli, ["init", str(study)]).exit_code == 0
    for command in (["clusters", "build"], ["clusters", "overlap"], ["gaps", "--top", "0"]):
        result = CliRunner().invoke(cli, [*command, "--config", str(study)])
        assert result.exit_code == 0, result.output
    table = pd.read_csv(study / "out" / "gaps.csv")
    assert list(table["layer"].unique()) == ["ward", "constituency", "pcn"]
    assert list(table["category"].unique()) == ["GP practice", "School"]
    pcns = pd.read_csv(study / "gp_practices.csv")["pcn_code"].nunique()
    overlap = pd.read_csv(study / "out" / "pcn_overlap.csv")
    assert overlap["cluster_code"].nunique() == pcns
    assert table.groupby("layer")["code"].nunique().to_dict() == {
        "ward": 30, "constituency": 5, "pcn": pcns}
