"""What changed between two snapshots of a register: each row of the old snapshot matched
with a row of the new one, and every pair and unmatched row given one status.

Rows are matched by ID where both have one, else by name and postcode (case, accents,
spacing and punctuation ignored), else by a similar name (:func:`rapidfuzz.fuzz.ratio` at
least ``threshold``) within ``within`` metres; a row with several candidates is
``ambiguous``, with its candidates named, never guessed. Used by
:func:`assetmap.plans.diff_snapshots`, which measures the gaps before and after.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rapidfuzz import fuzz, process
from scipy.spatial import cKDTree

from .errors import AssetmapError
from .locate import id_key, is_real_id, name_key
from .postcodes import normalise_postcodes
from .registers import filled_text, uncategorised

#: A row's status: a pair's (the first that applies of recategorised, moved, renamed, else
#: unchanged), an unmatched row's (closed: only in the old snapshot; opened: only in the
#: new), or ambiguous (several candidates).
STATUSES = ("unchanged", "moved", "renamed", "recategorised", "opened", "closed", "ambiguous")
#: Columns of :func:`match_snapshots`.
MATCH_COLUMNS = ["status", "old_row", "new_row", "old_id", "new_id", "old_name", "new_name",
                 "old_category", "new_category", "moved_m", "matched_by", "notes"]


def match_snapshots(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, *, within: float = 100.0,
                    threshold: float = 90, tolerance: float = 10.0) -> pd.DataFrame:
    """Rows of ``old`` and ``new`` (located assets, as :func:`assetmap.validate_registers`
    returns them) matched: one row per pair, per unmatched row and per ambiguous row, with
    :data:`MATCH_COLUMNS`. ``old_row`` and ``new_row`` are positions in ``old`` and ``new``;
    ``moved_m`` is a pair's distance (moved beyond ``tolerance`` metres); ``notes`` say what
    else changed, or an ambiguous row's candidates. Every row of either snapshot is in
    exactly one result row."""
    if old.crs != new.crs or old.crs is None or not old.crs.is_projected:
        raise AssetmapError("the snapshots must be in one projected CRS (metres): "
                            f"{old.crs} and {new.crs}")
    a, b = _keys(old), _keys(new)
    free_a, free_b = np.ones(len(a), bool), np.ones(len(b), bool)
    pairs, doubts = [], []
    for how, candidates in (("id", lambda: _same(a, b, free_a, free_b, ["id"])),
                            ("name and postcode",
                             lambda: _same(a, b, free_a, free_b, ["name", "postcode"])),
                            ("similar name nearby",
                             lambda: _similar(a, b, free_a, free_b, within, threshold))):
        paired, unsure = _resolve(candidates())
        pairs.append(paired.assign(matched_by=how))
        doubts.append(unsure)
        free_a[paired["old"]] = free_a[unsure["old"]] = False
        free_b[paired["new"]] = free_b[unsure["new"]] = False
    rows = pd.concat([_pairs(pd.concat(pairs, ignore_index=True), old, new, tolerance),
                      _ambiguous(pd.concat(doubts, ignore_index=True), old, new),
                      _alone(np.flatnonzero(free_a), old, "old", "closed"),
                      _alone(np.flatnonzero(free_b), new, "new", "opened")], ignore_index=True)
    for side in ("old", "new"):
        rows[f"{side}_row"] = rows[f"{side}_row"].astype("Int64")
    return rows[MATCH_COLUMNS]


def changed_sites(matches: pd.DataFrame, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame,
                  category: str) -> gpd.GeoDataFrame:
    """The rows of ``matches`` that changed and were or are of ``category``: ``change``
    (the status), the new row's ``id``, ``name``, ``category``, ``source`` and ``row`` (the
    old one's when closed), ``old_name``, ``old_category``, ``moved_m``, ``notes``,
    ``old_row``, ``new_row`` and the point (new place, else old)."""
    mine = matches[(matches["status"] != "unchanged")
                   & ((matches["old_category"] == category)
                      | (matches["new_category"] == category))]
    at_new = mine["new_row"].notna().to_numpy()
    columns = [c for c in ("id", "name", "category", "source", "row") if c in old and c in new]
    olds = old.iloc[mine["old_row"].fillna(0).to_numpy(int)].reset_index(drop=True)
    news = new.iloc[mine["new_row"].fillna(0).to_numpy(int)].reset_index(drop=True)
    taken = uncategorised(news[columns]).where(
        np.broadcast_to(at_new[:, None], (len(news), len(columns))), uncategorised(olds[columns]))
    geometry = np.where(at_new, news.geometry.array, olds.geometry.array)
    sites = pd.concat([mine[["status"]].rename(columns={"status": "change"})
                       .reset_index(drop=True), taken,
                       mine[["old_name", "old_category", "moved_m", "notes", "old_row",
                             "new_row"]].reset_index(drop=True)], axis=1)
    return gpd.GeoDataFrame(sites, geometry=gpd.GeoSeries(geometry, crs=new.crs))


def move_lines(matches: pd.DataFrame, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame
               ) -> gpd.GeoDataFrame:
    """``matches`` with a line from the old place to the new one for every pair (moved or
    not, no line for the others)."""
    paired = matches["old_row"].notna() & matches["new_row"].notna()
    ends = [frame.geometry.iloc[matches.loc[paired, f"{side}_row"].to_numpy(int)]
            .get_coordinates().to_numpy() for side, frame in (("old", old), ("new", new))]
    lines = np.full(len(matches), None, dtype=object)
    lines[paired.to_numpy()] = shapely.linestrings(np.stack(ends, axis=1))
    return gpd.GeoDataFrame(matches, geometry=gpd.GeoSeries(lines, index=matches.index,
                                                            crs=new.crs))


def _keys(assets: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per row (by position): the ID, name and postcode as compared ("" when missing) and
    the point."""
    text = {column: filled_text(assets[column]) if column in assets
            else pd.Series("", index=assets.index) for column in ("id", "name", "postcode")}
    ids = id_key(text["id"])
    ids = ids.where(is_real_id(ids), "")
    xy = assets.geometry.get_coordinates().to_numpy()
    return pd.DataFrame({"id": ids.to_numpy(), "name": name_key(text["name"]).to_numpy(),
                         "postcode": normalise_postcodes(text["postcode"]).to_numpy(),
                         "x": xy[:, 0], "y": xy[:, 1]})


def _same(a: pd.DataFrame, b: pd.DataFrame, free_a: np.ndarray, free_b: np.ndarray,
          on: list[str]) -> pd.DataFrame:
    """Candidate pairs of free rows with the same (non-empty) ``on`` keys; rows that both
    have an ID are never paired but by it."""
    columns = list(dict.fromkeys([*on, "id"]))
    left = a.loc[free_a & (a[on] != "").all(axis=1).to_numpy(), columns]
    right = b.loc[free_b & (b[on] != "").all(axis=1).to_numpy(), columns]
    pairs = left.reset_index(names="old").merge(right.reset_index(names="new"), on=on,
                                                suffixes=("_a", "_b"))
    return pairs[["old", "new"]] if "id" in on else pairs.loc[_not_two_ids(pairs),
                                                              ["old", "new"]]


def _similar(a: pd.DataFrame, b: pd.DataFrame, free_a: np.ndarray, free_b: np.ndarray,
             within: float, threshold: float) -> pd.DataFrame:
    """Candidate pairs of free named rows within ``within`` metres whose names score at
    least ``threshold``."""
    left = a[free_a & (a["name"] != "").to_numpy()]
    right = b[free_b & (b["name"] != "").to_numpy()]
    if left.empty or right.empty:
        return pd.DataFrame({"old": [], "new": []}, dtype=int)
    near = cKDTree(left[["x", "y"]].to_numpy()).sparse_distance_matrix(
        cKDTree(right[["x", "y"]].to_numpy()), within, output_type="ndarray")
    pairs = pd.DataFrame({"old": left.index[near["i"]], "new": right.index[near["j"]],
                          "id_a": left["id"].to_numpy()[near["i"]],
                          "id_b": right["id"].to_numpy()[near["j"]]})
    pairs = pairs[_not_two_ids(pairs)]
    scores = process.cpdist(a.loc[pairs["old"], "name"].to_numpy(),
                            b.loc[pairs["new"], "name"].to_numpy(), scorer=fuzz.ratio)
    return pairs.loc[scores >= threshold, ["old", "new"]]


def _not_two_ids(pairs: pd.DataFrame) -> np.ndarray:
    return ((pairs["id_a"] == "") | (pairs["id_b"] == "")).to_numpy()


def _resolve(candidates: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(pairs, ambiguous)``: candidate pairs whose rows have no other candidate, and the
    others."""
    alone = (candidates.groupby("old")["new"].transform("size").eq(1)
             & candidates.groupby("new")["old"].transform("size").eq(1))
    return candidates[alone], candidates[~alone]


def _pairs(pairs: pd.DataFrame, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame,
           tolerance: float) -> pd.DataFrame:
    """A status per matched pair, and what else changed in its notes."""
    o, n = _rows(old, pairs["old"], "old"), _rows(new, pairs["new"], "new")
    metres = shapely.distance(old.geometry.array[pairs["old"].to_numpy()],
                              new.geometry.array[pairs["new"].to_numpy()])
    renamed = (name_key(filled_text(o["old_name"]))
               != name_key(filled_text(n["new_name"]))).to_numpy()
    recategorised = (filled_text(o["old_category"])
                     != filled_text(n["new_category"])).to_numpy()
    moved = metres > tolerance
    status = np.select([recategorised, moved, renamed], ["recategorised", "moved", "renamed"],
                       "unchanged")
    notes = pd.DataFrame({
        "category": filled_text(o["old_category"]).map(
            "category was {!r}".format).where(recategorised),
        "moved": pd.Series(metres, dtype=float).map("moved {:,.0f} m".format).where(moved),
        "name": filled_text(o["old_name"]).map("was named {!r}".format)
        .where(renamed)}, dtype=object)
    text = notes.stack().dropna().groupby(level=0).agg("; ".join).reindex(notes.index,
                                                                          fill_value="")
    return pd.concat([o, n], axis=1).assign(
        status=status, old_row=pairs["old"].to_numpy(), new_row=pairs["new"].to_numpy(),
        moved_m=metres.round(1), matched_by=pairs["matched_by"].to_numpy(),
        notes=text.to_numpy())


def _ambiguous(doubts: pd.DataFrame, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame
               ) -> pd.DataFrame:
    """One ``ambiguous`` row per row of either snapshot with several candidates, naming
    them."""
    frames = []
    for side, other, frame, others in (("old", "new", old, new), ("new", "old", new, old)):
        named = _described(others, doubts[other]).groupby(doubts[side].to_numpy()).agg(
            "; ".join)
        rows = _rows(frame, pd.Series(named.index, dtype=int), side)
        frames.append(rows.assign(**{f"{side}_row": named.index.to_numpy(dtype=int)},
                                  status="ambiguous", matched_by="",
                                  notes=f"could be {other} rows: " + named.to_numpy()))
    return pd.concat(frames, ignore_index=True)


def _alone(positions: np.ndarray, frame: gpd.GeoDataFrame, side: str, status: str
           ) -> pd.DataFrame:
    return _rows(frame, pd.Series(positions, dtype=int), side).assign(
        **{f"{side}_row": positions}, status=status, matched_by="", notes="")


def _rows(frame: gpd.GeoDataFrame, positions: pd.Series, side: str) -> pd.DataFrame:
    """``<side>_id``, ``_name`` and ``_category`` of the rows at ``positions``."""
    columns = {c: f"{side}_{c}" for c in ("id", "name", "category")}
    taken = pd.DataFrame({c: frame[c] if c in frame else pd.Series(index=frame.index)
                          for c in columns})
    return taken.iloc[positions.to_numpy()].rename(columns=columns).reset_index(drop=True)


def _described(frame: gpd.GeoDataFrame, positions: pd.Series) -> pd.Series:
    """Rows as people find them: ``'NAME' (ID)``, or ``'NAME' (row N)`` with no ID."""
    rows = frame.iloc[positions.to_numpy()]
    names = filled_text(rows["name"]).map(repr)
    ids = filled_text(rows["id"]).str.strip() if "id" in rows else ""
    where = ("row " + rows["row"].astype(str)) if "row" in rows else "position " + \
        pd.Series(positions.to_numpy(), index=rows.index).astype(str)
    return pd.Series((names + " (" + ids.where(ids != "", where) + ")").to_numpy(),
                     index=positions.index)
