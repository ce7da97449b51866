"""The gap table's columns in words: one header and one definition per column, shared by
the planners' workbook and the HTML report (the definitions follow
:func:`assetmap.gaps.method_table`)."""

from __future__ import annotations

from collections.abc import Iterable

#: Column: (human header, one-sentence definition).
FIELDS: dict[str, tuple[str, str]] = {
    "layer": ("Layer", "The set of planning areas the row belongs to (wards, constituencies ...)."),
    "code": ("Area code", "The area's official code (ONS GSS code where there is one)."),
    "name": ("Area", "The area's name."),
    "category": ("Category", "The kind of asset the row is about."),
    "group": ("Group served", "Whom the category serves: children for child-facing "
                              "categories, else all residents."),
    "aggregation": ("How people were counted", "How small-area populations were placed in "
                                               "the area (e.g. apportioned by postcodes)."),
    "population": ("Residents", "Residents of the area (all ages), from the population "
                                "table."),
    "children": ("Children (0-15)", "Dependent children aged 0-15 living in the area."),
    "assets": ("Assets", "Assets of the category located in the area."),
    "assets_per_10k_residents": ("Assets per 10,000 residents", "Assets in the area per "
                                                                "10,000 residents."),
    "assets_per_10k_children": ("Assets per 10,000 children", "Assets in the area per "
                                                              "10,000 children."),
    "threshold_m": ("Reach (m)", "The category's threshold: the straight-line distance "
                                 "counted as within reach."),
    "distance_median_m": ("Median distance to nearest (m)", "Half of the group live within "
                          "this straight-line distance of the nearest asset of the category, "
                          "wherever it is."),
    "distance_p90_m": ("90% live within (m)", "The 90th percentile straight-line distance "
                       "from the group's homes to the nearest asset of the category."),
    "coverage_residents_pct": ("Residents within reach (%)", "Share of residents whose home "
                               "is within the category's threshold of an asset."),
    "coverage_children_pct": ("Children within reach (%)", "Share of children whose home is "
                              "within the category's threshold of an asset."),
    "imd_rank_mean": ("Average deprivation rank (IMD)", "Population-weighted mean IMD rank of "
                      "the area's neighbourhoods (1 = most deprived in England)."),
    "decile1_pct": ("Residents in most deprived 10% (%)", "Share of residents in small areas "
                    "among the most deprived 10% in England."),
    "decile1_2_pct": ("Residents in most deprived 20% (%)", "Share of residents in small "
                      "areas among the most deprived 20% in England."),
    "unmet_need": ("People beyond reach in deprived areas", "People of the group beyond the "
                   "threshold who live in the most deprived small areas (IMD deciles set "
                   "by the gap formula)."),
    "places_per_1000": ("Places per 1,000", "Capacity of the assets within reach, each "
                        "shared among the people within reach of it, per 1,000 of the group "
                        "(two-step floating catchment)."),
    "gap_score": ("Gap score (0-100, higher is worse)", "Share of the group beyond reach, "
                  "people in deprived areas weighing more: 0 when everyone is within reach, "
                  "100 when everyone is beyond it in a deprived area."),
    "rank": ("Rank (1 = largest gap)", "Order within the layer and category: highest gap "
                                       "score first, then most unmet need."),
    "priority": ("Priority area", "Whether the gap score reaches the priority cut-off."),
    "formula": ("Gap score formula", "The gap score formula with its weights, threshold and "
                                     "priority cut-off."),
}


def human_names(columns: Iterable[str]) -> dict[str, str]:
    """Column: human header, for each of ``columns`` (unknown columns keep their name)."""
    return {column: FIELDS[column][0] if column in FIELDS else column for column in columns}
