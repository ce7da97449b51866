"""The asset taxonomy: the categories the project needs, and free-text types mapped to them."""

from __future__ import annotations

import pandas as pd
import pytest

from assetmap import AssetmapError, classify, load_taxonomy
from assetmap.taxonomy import normalise_type, type_shares

CATEGORIES = ["Community centre", "Family hub site", "Pop-up social work office",
              "Voluntary or community group", "GP practice", "School", "Library",
              "Children's centre", "Health centre", "Place of worship", "Youth provision"]


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


def _classify(taxonomy, *types) -> list[tuple]:
    result = classify(pd.Series(types, dtype=object), taxonomy)
    return [(None if pd.isna(c) else c, m) for c, m in zip(result["category"], result["match"],
                                                            strict=True)]


def test_every_category_the_project_needs_has_a_label_colour_icon_and_synonyms(taxonomy):
    categories = taxonomy.categories.reset_index().set_index("label").loc[CATEGORIES]
    assert categories["colour"].str.fullmatch(r"#[0-9a-f]{6}").all()
    assert (categories["icon"].str.len() > 0).all()
    for label, key in categories["key"].items():
        own = {text for text, k in taxonomy.synonyms.items() if k == key}
        assert own - {normalise_type(key), normalise_type(label)}, f"{label} has no synonyms"


@pytest.mark.parametrize("typed, label", [
    ("FAMILY  HUB", "Family hub site"),
    ("Children’s Centre", "Children's centre"),
    ("childrens-centre", "Children's centre"),
    ("Voluntary & community group", "Voluntary or community group"),
    ("Pop-up social work office", "Pop-up social work office"),
    ("community hall", "Community centre"),
    ("Youth Club!", "Youth provision"),
    ("Schools", "School"),
    ("Mosque", "Place of worship"),
])
def test_types_match_exactly_ignoring_case_spacing_and_punctuation(taxonomy, typed, label):
    assert _classify(taxonomy, typed) == [(label, "exact")]


@pytest.mark.parametrize("typed, label", [
    ("Comunity centre", "Community centre"), ("libary", "Library"),
    ("Helth centre", "Health centre")])
def test_small_typos_match_fuzzily(taxonomy, typed, label):
    assert _classify(taxonomy, typed) == [(label, "fuzzy")]


def test_unrelated_types_are_unknown_and_blank_types_are_blank(taxonomy):
    assert _classify(taxonomy, "Knitting circle", "Bakery", "", "   ", None) == [
        (None, "unknown"), (None, "unknown"), (None, "blank"), (None, "blank"), (None, "blank")]


def test_classify_keeps_the_index_of_the_types(taxonomy):
    result = classify(pd.Series(["Library", "libary"], index=[7, 9]), taxonomy)
    assert list(result.index) == [7, 9]


def test_every_gias_establishment_type_in_the_real_schools_register_is_a_school(data, taxonomy):
    types = pd.read_csv(data / "bradford" / "schools.csv")["TypeOfEstablishment (name)"]
    assert types.nunique() >= 10
    result = classify(pd.Series(types.unique()), taxonomy)
    assert (result["category"] == "School").all() and (result["match"] == "exact").all()


def test_a_user_taxonomy_adds_a_category_and_synonyms_for_an_existing_one(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[categories.food_bank]\nlabel = "Food bank"\ncolour = "#123abc"\n'
                    'synonyms = ["food pantry", "community larder"]\n\n'
                    '[categories.library]\nsynonyms = ["book exchange"]\n', encoding="utf-8")
    taxonomy = load_taxonomy(path)
    food_bank = taxonomy.categories.loc["food_bank"]
    assert (food_bank["label"], food_bank["colour"]) == ("Food bank", "#123abc")
    assert food_bank["icon"]  # a default icon
    built_in = load_taxonomy().categories.loc["library"]
    assert taxonomy.categories.loc["library"].equals(built_in)  # built-in fields kept
    assert _classify(taxonomy, "Community Larder", "book exchange", "public library") == [
        ("Food bank", "exact"), ("Library", "exact"), ("Library", "exact")]
    assert _classify(load_taxonomy(), "book exchange") == [(None, "unknown")]


def test_a_broken_taxonomy_file_is_a_one_line_error_naming_the_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[categories.food_bank\nlabel = "Food bank"\n', encoding="utf-8")
    with pytest.raises(AssetmapError, match="not a valid TOML taxonomy") as error:
        load_taxonomy(path)
    assert str(error.value).startswith(f"{path}: ") and "\n" not in str(error.value)


def test_a_user_taxonomy_can_move_a_built_in_synonym(tmp_path):
    extra = tmp_path / "ours.toml"
    extra.write_text('[categories.place_of_worship]\nsynonyms = ["church hall"]\n',
                     encoding="utf-8")
    assert classify(pd.Series(["church hall"]), load_taxonomy())["category"][0] == \
        "Community centre"
    moved = classify(pd.Series(["church hall"]), load_taxonomy(extra))
    assert moved["category"][0] == "Place of worship" and moved["match"][0] == "exact"


def test_plurals_match_their_category(taxonomy):
    result = classify(pd.Series(["Libraries", "Youth clubs", "Schools"]), taxonomy)
    assert list(result["category"]) == ["Library", "Youth provision", "School"]
    assert list(result["match"]) == ["exact"] * 3


@pytest.mark.parametrize("typed, label", [
    # school phases and venue words, as typed in a hand-made register
    ("School - Primary", "School"), ("School (Primary)", "School"), ("secondary", "School"),
    ("Nursery", "School"), ("Primary Academy", "School"), ("Community Café", "Community centre"),
    ("COMMUNITY CAFE", "Community centre"), ("Foodbank", "Voluntary or community group"),
])
def test_school_phases_and_venue_words_are_synonyms_ignoring_accents_and_word_order(
        taxonomy, typed, label):
    assert _classify(taxonomy, typed) == [(label, "exact")]


@pytest.mark.parametrize("typed, label", [
    ("Comm Centre", "Community centre"), ("Pop up SW office", "Pop-up social work office"),
    ("VCSE org", "Voluntary or community group"), ("Family Hub (main)", "Family hub site"),
    ("Special / AP", "School"), ("Library [closed]", "Library"),
])
def test_abbreviations_bracketed_words_and_parts_naming_one_category_are_read(
        taxonomy, typed, label):
    assert _classify(taxonomy, typed) == [(label, "reading")]


def test_a_type_naming_two_categories_gets_none_and_suggests_both(taxonomy):
    result = classify(pd.Series(["Childrens Centre / Family Hub"]), taxonomy).iloc[0]
    assert pd.isna(result["category"]) and result["match"] == "ambiguous"
    assert result["suggestions"] == "Children's centre, Family hub site"


def test_unknown_types_come_back_with_the_closest_categories(taxonomy):
    result = classify(pd.Series(["Youth clubhouse", "Knitting circle", "Library"]), taxonomy)
    assert result["match"].tolist() == ["unknown", "unknown", "exact"]
    assert result["suggestions"].tolist() == ["Youth provision", "", ""]


def test_a_user_taxonomy_adds_abbreviations(tmp_path, taxonomy):
    extra = tmp_path / "ours.toml"
    extra.write_text('[categories.library]\nsynonyms = []\n\n[abbreviations]\nlbry = "library"\n',
                     encoding="utf-8")
    assert _classify(taxonomy, "Lbry") == [(None, "unknown")]
    assert _classify(load_taxonomy(extra), "Lbry") == [("Library", "reading")]


def test_type_shares_count_the_cells_naming_categories_without_guessing_typos(taxonomy):
    frame = pd.DataFrame({
        "Offer": ["Family Hub", "Family Hub", "Comm Centre", "Libary", "", "Bakery"],
        "Notes": ["", None, " ", "", "", ""],
        "Venue": ["Library", " School ", "Library", "Bakery", "Bakery", "Bakery"]})
    shares = type_shares(frame, taxonomy)
    assert list(shares.index) == ["Offer", "Notes", "Venue"]
    assert shares.tolist() == [3 / 5, 0.0, 3 / 6]


def test_cc_is_not_guessed():
    """In council registers "CC" is a children's centre as often as a community centre."""
    result = classify(pd.Series(["CC"]), load_taxonomy())
    assert result["category"].isna().all() and result["match"].iloc[0] == "unknown"
