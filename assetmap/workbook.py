"""The gap table as a workbook for people: planners reading it on screen or printing it.

Unlike the analysts' workbook (:func:`assetmap.gaps.write_gaps`), it opens on a summary,
shows only the columns a person needs under headers in words (:mod:`assetmap.fields`),
counts as whole people, and prints cleanly: landscape, one page wide, the header row on
every page. Disclosure control is the published table's: suppressed cells keep their mark.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .fields import FIELDS, human_names
from .gaps import SUPPRESSED
from .outputs import write_xlsx

#: The gap table's columns a person needs, in the order the layer sheets show them.
_SHOWN = ("name", "code", "category", "population", "children", "assets",
          "assets_per_10k_residents", "assets_per_10k_children", "distance_median_m",
          "coverage_residents_pct", "coverage_children_pct", "imd_rank_mean", "decile1_pct",
          "decile1_2_pct", "unmet_need", "places_per_1000", "gap_score", "rank", "priority")
#: Columns of whole people (or whole numbers), and of one decimal.
_WHOLE = ("population", "children", "unmet_need", "assets", "distance_median_m",
          "imd_rank_mean", "rank")
_ONE_DECIMAL = ("assets_per_10k_residents", "assets_per_10k_children", "coverage_residents_pct",
                "coverage_children_pct", "decile1_pct", "decile1_2_pct", "places_per_1000",
                "gap_score")
#: The summary's columns: count, share within reach, header, definition.
_BEYOND = {"residents_beyond_reach": ("population", "coverage_residents_pct",
                                      "Residents beyond reach",
                                      "Residents of the layer's areas living beyond the "
                                      "category's threshold (from each area's residents and "
                                      f"coverage, so about; {SUPPRESSED} where an area's "
                                      f"figure is suppressed)."),
           "children_beyond_reach": ("children", "coverage_children_pct",
                                     "Children beyond reach",
                                     "Children of the layer's areas living beyond the "
                                     "category's threshold (as for residents).")}
_SUMMARY = {"layer": "Layer", "category": "Category", "areas": "Areas",
            "priority_areas": "Priority areas", "largest_gaps": "Largest gaps (rank 1-3)",
            **{column: spec[2] for column, spec in _BEYOND.items()}}


def write_people_workbook(
    published: pd.DataFrame,
    path: str | Path,
    *,
    title: str,
    layer_labels: Mapping[str, str],
    method: pd.DataFrame,
    audit: pd.DataFrame | None = None,
) -> Path:
    """Write the planners' workbook of ``published`` (``GapResult.published(n)``).

    Sheets: "Summary" (``title``, then per layer and category the areas, priority areas,
    the three largest gaps and the people beyond reach), one per layer (named by
    ``layer_labels``: rows by category then rank, headers in words), "Field guide" (each
    header's column and definition), "Method" (``method``) and "Audit" (``audit``, if given).
    """
    layers = {layer: _layer_sheet(rows) for layer, rows in published.groupby("layer",
                                                                             sort=False)}
    names = _sheet_names(layers, layer_labels)
    shown = next(iter(layers.values())).columns if layers else []
    sheets = {"Summary": _summary(published, layer_labels),
              **{names[layer]: frame.rename(columns=human_names(frame.columns))
                 for layer, frame in layers.items()},
              "Field guide": _field_guide(shown),
              "Method": method.rename(columns=str.capitalize),
              **({"Audit": audit} if audit is not None else {})}
    formats = {**{FIELDS[c][0]: "#,##0" for c in _WHOLE},
               **{FIELDS[c][0]: "0.0" for c in _ONE_DECIMAL},
               **{_SUMMARY[c]: "#,##0" for c in ("areas", "priority_areas", *_BEYOND)}}
    return write_xlsx(sheets, path, formats=formats, titles={"Summary": title},
                      printable=True)


def _layer_sheet(rows: pd.DataFrame) -> pd.DataFrame:
    """One layer's rows as people read them: the needed columns, by category then rank."""
    out = rows.sort_values(["category", "rank"], kind="stable")
    out = out[[c for c in _SHOWN if c in out]].reset_index(drop=True)
    out = out.assign(**{c: _whole(out[c]) for c in _WHOLE if c in out})
    return out.assign(priority=out["priority"].map({True: "Yes", False: "No"}))


def _whole(values: pd.Series) -> pd.Series:
    """Numbers rounded to whole ones (as integers); text (suppressed marks) kept."""
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.round().astype("Int64").astype(object).where(numbers.notna(), values)


def _sheet_names(layers: Mapping[str, pd.DataFrame], labels: Mapping[str, str]
                 ) -> dict[str, str]:
    """A sheet name per layer: its label, with the layer added where that is taken."""
    taken = {"summary", "field guide", "method", "audit"}
    names = {}
    for layer in layers:
        label = labels.get(layer, layer)
        name = label if label.casefold() not in taken else f"{label} ({layer})"
        names[layer] = name
        taken.add(name.casefold())
    return names


def _summary(published: pd.DataFrame, labels: Mapping[str, str]) -> pd.DataFrame:
    """Per layer and category: areas, priority areas, the three largest gaps, and the
    people beyond reach (whole people; :data:`SUPPRESSED` if any area's figure is)."""
    top = published[published["rank"] <= 3].sort_values("rank", kind="stable")
    top = top[pd.to_numeric(top["gap_score"], errors="coerce").ne(0)]
    keys = ["layer", "category"]
    out = published.groupby(keys, sort=False).agg(areas=("code", "size"),
                                                  priority_areas=("priority", "sum"))
    out["largest_gaps"] = top.groupby(keys, sort=False)["name"].agg("; ".join)
    for column, (count, share, *_) in _BEYOND.items():
        if {count, share} <= set(published):
            out[column] = _beyond(published, keys, count, share)
    out = out.reset_index()
    out["layer"] = out["layer"].map(lambda layer: labels.get(layer, layer))
    return out.fillna({"largest_gaps": ""}).rename(columns=_SUMMARY)


def _beyond(published: pd.DataFrame, keys: list[str], count: str, share: str) -> pd.Series:
    """People beyond reach per ``keys`` group, whole; suppressed where any area's is."""
    people = pd.to_numeric(published[count], errors="coerce")
    within = pd.to_numeric(published[share], errors="coerce")
    hidden = published[count].eq(SUPPRESSED) | published[share].eq(SUPPRESSED)
    groups = published[keys].assign(beyond=people * (100 - within) / 100, hidden=hidden)
    totals = groups.groupby(keys, sort=False).agg(beyond=("beyond", "sum"),
                                                  hidden=("hidden", "any"))
    return _whole(totals["beyond"]).mask(totals["hidden"], SUPPRESSED)


def _field_guide(columns) -> pd.DataFrame:
    """Header, column and definition of each layer-sheet column and summary figure."""
    rows = [(FIELDS[c][0], c, FIELDS[c][1]) for c in columns if c in FIELDS]
    rows += [(spec[2], column, spec[3]) for column, spec in _BEYOND.items()]
    return pd.DataFrame(rows, columns=["Header", "Column", "Definition"])
