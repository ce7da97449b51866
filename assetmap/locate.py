"""From register rows to located assets, with a row audit that accounts for every row.

Precedence: geometry > easting/northing > latitude/longitude > postcode. A row is
*located* by the first that works, or *rejected* with the reason the first one given
failed. Latitude and longitude typed the wrong way round are swapped back and noted, and
so are easting/northing columns (headed X/Y, say) that hold degrees.
Located rows outside the study area, and duplicates (the same row again, the same ID, or
the same name at the same place), are rejected too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyproj
import shapely

from .errors import AssetmapError, warn
from .postcodes import PostcodeIndex, is_well_formed, normalise_postcodes
from .registers import (
    TEXT,
    Register,
    as_text,
    categorical,
    describe_roles,
    filled_text,
    parse_numbers,
    read_register,
    stacked,
)
from .settings import DUPLICATE_DISTANCE_M, EDGE_TOLERANCE_M, WORK_CRS
from .taxonomy import Taxonomy, classify, load_taxonomy, type_shares

#: Columns every located-assets frame starts with.
ASSET_COLUMNS = ["source", "row", "id", "name", "type", "category", "postcode", "method"]
#: An odd 64-bit constant (the golden ratio's): mixes an easting's bits into a northing's.
_MIX = 0x9E3779B97F4A7C15
#: How a row may be located (``""``: not located).
_METHODS = ["", "geometry", "easting/northing", "latitude/longitude", "postcode"]
#: Columns of the row audit.
AUDIT_COLUMNS = ["source", "row", "status", "reason", "method", "category", "notes", "id",
                 "name"]
#: British National Grid extent (metres) and Great Britain in degrees.
_GRID = {"easting": (1.0, 700_000.0), "northing": (1.0, 1_300_000.0)}
_DEGREES = {"latitude": (49.8, 61.0), "longitude": (-8.7, 1.9)}
#: Coordinate roles and the role they need beside them.
_PARTNERS = {"easting": "northing", "northing": "easting", "latitude": "longitude",
             "longitude": "latitude"}
#: IDs that say there is no ID (as are IDs without a letter or digit, such as "-").
_NO_ID = ("n/a", "na", "none", "tbc", "unknown", "null")
#: A column playing no role whose cells name categories at least this often looks like types.
TYPE_SHARE = 0.5
#: A postcode index, a function giving it when first needed, or none.
Postcodes = PostcodeIndex | Callable[[], PostcodeIndex] | None
#: Column names a GeoPackage reserves; register columns so named get " (register)".
_RESERVED = ("fid", "geometry")


def load_assets(
    paths: Sequence[str | Path],
    *,
    postcodes: Postcodes = None,
    study_area: shapely.Geometry | None = None,
    taxonomy: Taxonomy | None = None,
    category: str | None = None,
    all_rows: str | None = None,
    sheet: str | None = None,
    roles: dict[str, str] | None = None,
    header_row: int | None = None,
    fix_postcodes: bool = False,
    tolerance: float = EDGE_TOLERANCE_M,
    crs: str = WORK_CRS,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Read, locate and categorise registers: all their assets and one audit of every row.

    ``category`` and ``all_rows`` (free text, matched against the taxonomy) are for
    registers that have no type column, as :func:`categorise` gives them. Without either,
    such a register's file name is tried (``schools.csv`` -> School), and the audit says
    so. ``sheet``, ``roles`` and ``header_row`` apply to every register.
    Other parameters as for :func:`read_register`, :func:`locate` and :func:`classify`.
    The audit's ``attrs["roles"]`` holds, per register file name, the columns used
    (:func:`assetmap.registers.describe_roles`).
    """
    taxonomy = taxonomy or load_taxonomy()
    for text in filter(None, (category, all_rows)):
        known_category(text, taxonomy)  # a bad category fails before any reading
    assets, audits, used = [], [], {}
    for path in paths:
        register = read_register(path, sheet=sheet, roles=roles, header_row=header_row)
        used[register.name] = describe_roles(register)
        located, audit = locate(register, postcodes=postcodes, study_area=study_area,
                                tolerance=tolerance, crs=crs, fix_postcodes=fix_postcodes)
        labels, notes = categorise(located, register, taxonomy, category, all_rows=all_rows)
        del register  # its text is not needed again: free it before the next is read
        located["category"] = labels.array
        audit["category"] = labels.reindex(audit["row"]).array
        extra = notes[(notes != "").to_numpy()]
        if len(extra):  # the category's note after the location's
            at = pd.Index(audit["row"]).get_indexer(extra.index)
            joined = audit["notes"].to_numpy(dtype=object, copy=True)
            added = extra.to_numpy(dtype=object)
            joined[at] = np.where(joined[at] != "", joined[at] + "; " + added, added)
            audit["notes"] = pd.array(joined, dtype=TEXT)
        assets.append(located)
        audits.append(audit)
    frame = stacked(assets)
    order = ASSET_COLUMNS + [c for c in frame.columns if c not in ASSET_COLUMNS]
    frame = frame[order]
    frame.columns = unique_casefold(frame.columns)
    audit = stacked(audits)[AUDIT_COLUMNS]
    audit.attrs["roles"] = used
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=crs), audit


def categorise(assets: pd.DataFrame, register: Register, taxonomy: Taxonomy,
               category: str | None = None, *, all_rows: str | None = None
               ) -> tuple[pd.Series, pd.Series]:
    """Category label and note for each located asset (both indexed by source row).

    A register's type column gives the categories (and a column that looks more like
    types, :func:`type_columns`, is warned about). A register without one takes
    ``all_rows`` for every row; else ``category`` for every row, unless a column looks like
    types: that is an error, naming it (say it is the type column, or give ``all_rows``);
    else the category its file name names, with a warning for such a column.
    """
    rows = pd.Index(assets["row"], name="row")
    suspects = type_columns(register, taxonomy)
    if "type" in register.roles:
        used = type_shares(register.frame[[register.roles["type"]]], taxonomy).iloc[0]
        for column, share in suspects.items():
            if share > used:
                warn(f"looks more like types than the type column {register.roles['type']!r} "
                     f"({share:.0%} of its cells name categories, against {used:.0%}); "
                     f"choose with --column type=\"{column}\"", file=register.path,
                     column=column)
        matched = classify(pd.Series(assets["type"].array, index=rows), taxonomy)
        noted = np.flatnonzero((matched["match"] != "exact").to_numpy())  # notes for these
        some = matched.iloc[noted]
        quoted = "type '" + assets["type"].iloc[noted].to_numpy() + "'"
        match, suggested = filled_text(some["match"]), filled_text(some["suggestions"])
        closest = np.where(suggested != "", " (closest: " + suggested + ")", "")
        note = np.full(len(rows), "", dtype=object)
        note[noted] = np.select(
            [match.isin(["fuzzy", "reading"]), match == "ambiguous", match == "unknown",
             match == "blank"],
            [quoted + " read as '" + some["category"].astype(str) + "'",
             quoted + " names several categories (" + suggested + "): no category",
             quoted + " is not in the taxonomy: no category" + closest,
             "no type: no category"], "")
        return matched["category"], pd.Series(note, index=rows)
    if all_rows:
        return _every_row(known_category(all_rows, taxonomy), rows), pd.Series("", index=rows)
    for column, share in suspects.items():
        message = (f"no type column was recognised, but this column looks like one ({share:.0%} "
                   f"of its cells name categories): name it with --column type=\"{column}\"")
        if category:
            raise AssetmapError(f"{message}, or give every row the category with --all-rows "
                                f"\"{category}\"", file=register.path, column=column)
        warn(message, file=register.path, column=column)
    if category:
        return _every_row(known_category(category, taxonomy), rows), pd.Series("", index=rows)
    guessed = classify(pd.Series([register.path.stem.replace("_", " ")]), taxonomy)
    if guessed["category"].isna().iloc[0]:
        return _every_row(None, rows), pd.Series("no type column: no category", index=rows)
    return (_every_row(guessed["category"].iloc[0], rows),
            pd.Series("no type column: category taken from the file name", index=rows))


def _every_row(label: str | None, rows: Sequence) -> pd.Series:
    """One category (``None``: none) for every row."""
    codes = np.full(len(rows), -1 if label is None else 0, dtype=np.int8)
    return pd.Series(categorical(codes, [] if label is None else [label]), index=rows)


def type_columns(register: Register, taxonomy: Taxonomy) -> dict[str, float]:
    """Columns playing no role that look like types: at least ``TYPE_SHARE`` of their
    cells name a category (:func:`assetmap.taxonomy.type_shares`), most first."""
    taken = set(register.roles.values())
    text = register.cells
    shares = type_shares(text[[c for c in text.columns if c not in taken]], taxonomy)
    return {str(c): float(s) for c, s in shares[shares >= TYPE_SHARE].sort_values(
        ascending=False, kind="stable").items()}


def known_category(text: str, taxonomy: Taxonomy) -> str:
    """The taxonomy label ``text`` names (as :func:`classify` matches it), or an error."""
    matched = classify(pd.Series([text]), taxonomy).iloc[0]
    if pd.isna(matched["category"]):
        closest = f" (closest: {matched['suggestions']})" if matched["suggestions"] else ""
        raise AssetmapError(f"category {text!r} is not in the taxonomy{closest}; categories "
                            f"are {', '.join(taxonomy.labels())}")
    return matched["category"]


def locate(
    register: Register,
    *,
    postcodes: Postcodes = None,
    study_area: shapely.Geometry | None = None,
    tolerance: float = EDGE_TOLERANCE_M,
    crs: str = WORK_CRS,
    fix_postcodes: bool = False,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Locate a register's rows.

    Parameters
    ----------
    register
        As read by :func:`assetmap.read_register`.
    postcodes
        Index for rows located by postcode only, or a function giving it (called only
        when some row needs it: :meth:`PostcodeIndex.loader`).
    study_area
        Outline (in ``crs``); rows further than ``tolerance`` metres outside are rejected.
    crs
        CRS of the result. Rows are located, and tested against the study area and for
        duplicates, in British National Grid metres, then reprojected.
    fix_postcodes
        Read a malformed or unknown postcode as the one postcode of the index that one
        look-alike character away gives (``BD5 OPH`` -> ``BD5 0PH``), and note it. Without
        it, the rejection reason suggests that postcode.

    Returns
    -------
    assets, audit
        The located rows as points (``ASSET_COLUMNS``, the register's other columns,
        geometry), and one audit row per register row (``AUDIT_COLUMNS``).
    """
    roles = register.roles.keys()
    if not ("postcode" in roles or {"latitude", "longitude"} <= roles
            or {"easting", "northing"} <= roles or isinstance(register.frame, gpd.GeoDataFrame)):
        raise AssetmapError(
            "no usable location column: found no postcode, latitude/longitude or "
            "easting/northing column (name one, e.g. --column postcode=\"Post Code\")",
            file=register.path)
    rows = _Rows(register)
    if isinstance(register.frame, gpd.GeoDataFrame):
        rows.by_geometry(register.frame.to_crs(WORK_CRS).geometry)
    if {"easting", "northing"} <= register.roles.keys():
        rows.by_grid(register)
    if {"latitude", "longitude"} <= register.roles.keys():
        rows.by_degrees(register.column("latitude"), register.column("longitude"),
                        register.delimiter)
    rows.lone_coordinates(register)
    if "postcode" in register.roles:
        rows.by_postcode(register, postcodes, fix_postcodes)
    rows.reject_unlocated()
    if study_area is not None:
        rows.reject_outside(gpd.GeoSeries([study_area], crs=crs).to_crs(WORK_CRS).iloc[0],
                            tolerance)
    rows.reject_duplicates(register)
    return rows.assets(register, crs), rows.audit(register)


class _Rows:
    """Per-row state while locating: coordinates, method, problems, notes, rejections, as
    arrays (text arrays beside a mask of the rows holding any, so tests are cheap)."""

    def __init__(self, register: Register) -> None:
        self.index = register.frame.index
        self.text = register.cells
        n = len(self.index)
        self.x, self.y = np.full(n, np.nan), np.full(n, np.nan)
        self.method = np.zeros(n, dtype=np.int8)  # positions in _METHODS
        self.problem, self.notes, self.reason = (np.full(n, "", dtype=object) for _ in range(3))
        self.has_method, self.has_problem, self.rejected = (
            np.zeros(n, dtype=bool) for _ in range(3))
        self.blank = (self.text == "").all(axis=1).to_numpy()
        if isinstance(register.frame, gpd.GeoDataFrame):
            geometry = register.frame.geometry
            self.blank = self.blank & (geometry.isna() | geometry.is_empty).to_numpy()
        self.reject(self.blank, "blank row")
        self.postcode = pd.Series("", index=self.index, dtype=TEXT)

    @property
    def located(self) -> np.ndarray:
        return self.has_method & ~self.rejected

    def located_by(self, method: str) -> np.ndarray:
        return self.method == _METHODS.index(method)

    def take(self, usable, x, y, method: str) -> None:
        new = np.asarray(usable) & ~self.has_method & ~self.blank
        self.x[new], self.y[new] = np.asarray(x)[new], np.asarray(y)[new]
        self.method[new], self.has_method[new] = _METHODS.index(method), True

    def fail(self, failed, *message) -> None:
        """Record the first problem of rows not yet located: ``message`` is the
        concatenation of its parts (text, or a value per row) at those rows."""
        first = np.flatnonzero(np.asarray(failed) & ~self.has_method & ~self.has_problem)
        self.problem[first], self.has_problem[first] = _text_at(message, first), True

    def note(self, mask, *message) -> None:
        rows = np.flatnonzero(mask)
        before, added = self.notes[rows], _text_at(message, rows)
        self.notes[rows] = np.where(before == "", added, before + "; " + added)

    def reject(self, mask, *reason) -> None:
        rows = np.flatnonzero(mask)
        self.reason[rows], self.rejected[rows] = _text_at(reason, rows), True

    def by_geometry(self, geometry: gpd.GeoSeries) -> None:
        present = ~(geometry.isna() | geometry.is_empty).to_numpy()
        points = shapely.point_on_surface(geometry.array)
        self.take(present, shapely.get_x(points), shapely.get_y(points), "geometry")

    def by_grid(self, register: Register) -> None:
        """Easting/northing; columns whose every value is GB degrees are read as
        longitude/latitude instead, and the rows so located say so."""
        e_text, n_text = register.column("easting"), register.column("northing")
        e, n = parse_numbers(e_text), parse_numbers(n_text)  # metres: commas group thousands
        decimal_commas = register.delimiter == ";"  # as degrees may be written there
        if _all_degrees(*((parse_numbers(e_text, ";"), parse_numbers(n_text, ";"))
                          if decimal_commas else (e, n))):
            self.by_degrees(n_text, e_text, register.delimiter)
            columns = f"{register.roles['easting']}/{register.roles['northing']}"
            self.note(self.located_by("latitude/longitude"),
                      f"{columns} read as longitude/latitude")
            return
        usable = _in_range(e, *_GRID["easting"]) & _in_range(n, *_GRID["northing"])
        self.take(usable, e, n, "easting/northing")
        if not usable.all():
            given = ((e_text != "") | (n_text != "")).to_numpy()
            self.fail(given & ~usable, "easting/northing not usable ('", e_text, "', '",
                      n_text, "')")

    def by_degrees(self, lat_text: pd.Series, lon_text: pd.Series,
                   delimiter: str | None) -> None:
        lat, lon = parse_numbers(lat_text, delimiter), parse_numbers(lon_text, delimiter)
        in_gb = _in_range(lat, *_DEGREES["latitude"]) & _in_range(lon, *_DEGREES["longitude"])
        swapped = ~in_gb & _in_range(lon, *_DEGREES["latitude"]) & _in_range(
            lat, *_DEGREES["longitude"])
        lat, lon = np.where(swapped, lon, lat), np.where(swapped, lat, lon)
        to_grid = pyproj.Transformer.from_crs("EPSG:4326", WORK_CRS, always_xy=True)
        x, y = to_grid.transform(lon, lat)
        usable = in_gb | swapped
        self.take(usable, x, y, "latitude/longitude")
        self.note(swapped & self.located_by("latitude/longitude"),
                  "latitude and longitude were the wrong way round; swapped")
        given = ((lat_text != "") | (lon_text != "")).to_numpy()
        self.fail(given & ~usable, "latitude/longitude not in Great Britain ('", lat_text,
                  "', '", lon_text, "')")

    def lone_coordinates(self, register: Register) -> None:
        """A coordinate whose partner column is missing is a problem of its row."""
        for role, partner in _PARTNERS.items():
            if role in register.roles and partner not in register.roles:
                self.fail((register.column(role) != "").to_numpy(),
                          f"{role} given but no {partner} column")

    def by_postcode(self, register: Register, index: Postcodes, fix: bool = False) -> None:
        """Postcodes looked up in the index; near misses (:meth:`PostcodeIndex.near_misses`)
        are suggested in the reason, or taken with a note when ``fix``.

        Only rows not located yet are looked up (with ``fix``, every row with a postcode,
        which a near miss may correct): a function giving the index is called only then.
        """
        raw = register.column("postcode")
        self.postcode = normalise_postcodes(raw)
        wanted = (self.postcode != "").to_numpy() & (~self.has_method | fix)
        if not wanted.any():
            return
        index = index() if callable(index) else index
        rows = np.flatnonzero(wanted)

        def spread(values, fill):  # values of the wanted rows, as an array of every row
            out = np.full(len(wanted), fill, dtype=object if isinstance(fill, str) else None)
            out[rows] = np.asarray(values)
            return out

        raw, postcode = raw.iloc[rows], self.postcode.iloc[rows]
        quoted = "'" + raw + "'"
        near = pd.Series([[]] * len(raw), index=raw.index, dtype=object) if index is None \
            else index.near_misses(postcode)
        meant = near.str.join(" or ")
        hint = np.where(meant != "", " (did you mean " + meant + "?)", "")
        fixed = (near.str.len() == 1).to_numpy() & fix
        self.note(spread(fixed, False), spread("postcode " + quoted + " read as " + meant, ""))
        postcode = postcode.where(~fixed, meant)
        self.postcode.iloc[rows] = postcode.to_numpy()
        well = is_well_formed(postcode).to_numpy()
        self.fail(spread(~well, False), spread("malformed postcode " + quoted + hint, ""))
        if index is None:
            self.fail(wanted, "no postcode file to look postcodes up in")
            return
        x, y, found = index.lookup(postcode.where(well, ""))
        usable = well & found & np.isfinite(x)
        self.take(spread(usable, False), spread(x, np.nan), spread(y, np.nan), "postcode")
        self.fail(spread(~found, False), spread("unknown postcode " + quoted + hint, ""))
        self.fail(spread(found & ~usable, False),
                  spread("postcode " + quoted + " has no grid reference", ""))

    def reject_unlocated(self) -> None:
        """Rows located by a lower-precedence method note why; unlocated rows are rejected."""
        self.note(self.has_method & self.has_problem, self.problem, "; located by ",
                  pd.Series(pd.Categorical.from_codes(self.method, _METHODS)))  # at those rows
        missing = ~self.has_method & ~self.blank
        self.reject(missing & self.has_problem, self.problem)
        self.reject(missing & ~self.has_problem, "no location: no coordinates or postcode")

    def reject_outside(self, study_area: shapely.Geometry, tolerance: float) -> None:
        shapely.prepare(study_area)
        located = np.flatnonzero(self.located)
        points = _points(self.x[located], self.y[located])
        outside = ~shapely.dwithin(points, study_area, tolerance)
        km = np.round(shapely.distance(points[outside], study_area) / 1000, 1)
        rows = located[outside]
        self.reason[rows] = [f"outside the study area ({d} km away)" for d in km]
        self.rejected[rows] = True

    def reject_duplicates(self, register: Register) -> None:
        """Exact copies, then the same ID, then the same name at the same place. Only rows
        that could be copies are compared: those located at a point another row shares
        (copies locate alike), and those whose ID another row has. The names are keyed on
        another thread meanwhile (Arrow's kernels release the GIL)."""
        with ThreadPoolExecutor(1) as pool:
            names = pool.submit(_name_codes, register.column("name"))
            rows = pd.Series(self.index, index=self.index)
            place = self.x.view(np.uint64) * np.uint64(_MIX) ^ self.y.view(np.uint64)  # a
            shared = self.located & pd.Series(place).duplicated(keep=False).to_numpy()  # hash
            cells = self.text[shared]  # (a clash only adds rows to compare)
            if isinstance(register.frame, gpd.GeoDataFrame):
                cells = pd.concat([cells, register.frame.geometry[shared].to_wkb(hex=True)],
                                  axis=1)
            hashes = np.zeros(len(rows), dtype=np.uint64)
            hashes[shared] = pd.util.hash_pandas_object(cells, index=False).to_numpy()
            self._reject_copies(_first_of_groups(rows, hashes, shared), "exact duplicate of row ")
            ids = id_key(register.column("id"))
            id_codes = group_codes(ids)
            repeated = np.flatnonzero(self.located & _repeated(id_codes))
            real = np.zeros(len(rows), dtype=bool)  # a letter or digit, not a placeholder
            real[repeated] = is_real_id(ids.iloc[repeated]).to_numpy()
            same_id = _first_of_groups(rows, id_codes, self.located & real)
            self._reject_copies(same_id, "same ID as row ")
            self._reject_copies(self._same_name_and_place(*names.result(), rows),
                                "same name and location as row ")

    def _same_name_and_place(self, codes: np.ndarray, named: np.ndarray, rows: pd.Series
                             ) -> pd.Series:
        """For each located row, the first earlier row with its name (``codes``, where
        ``named``: see :func:`_name_codes`) within a few metres."""
        named = np.flatnonzero(self.located & named)
        located = named[_repeated(codes[named])]
        points = _points(self.x[located], self.y[located])
        i, j = shapely.STRtree(points).query(points, predicate="dwithin",
                                             distance=DUPLICATE_DISTANCE_M)
        keep = (i < j) & (codes[located[i]] == codes[located[j]])
        first = pd.Series(located[i[keep]]).groupby(located[j[keep]]).min()
        earlier = pd.Series(np.nan, index=rows.index)
        earlier.iloc[first.index.to_numpy()] = rows.to_numpy()[first.to_numpy()]
        return earlier

    def _reject_copies(self, first_row: pd.Series, reason: str) -> None:
        copy = (first_row.notna() & (first_row != first_row.index)).to_numpy() & self.located
        rows = np.flatnonzero(copy)
        self.reason[rows] = reason + first_row.iloc[rows].astype("int64").astype(str).to_numpy(
            dtype=object)
        self.rejected[rows] = True

    def assets(self, register: Register, crs: str) -> gpd.GeoDataFrame:
        keep = np.flatnonzero(self.located)
        every = len(keep) == len(self.index)  # then the register's own arrays, not copies

        def kept(values):
            return values if every else values[keep]

        standard = pd.DataFrame({
            "source": _source(register, len(keep)),
            "row": kept(self.index),
            "id": kept(register.column("id").array),
            "name": kept(register.column("name").array),
            "type": kept(register.column("type").array),
            "category": _every_row(None, range(len(keep))).array,  # set by categorise
            "postcode": kept(self.postcode.array),
            "method": categorical(kept(self.method), _METHODS),
        })
        role_columns = set(register.roles.values())
        others = (self.text if every else self.text.iloc[keep])[
            [c for c in self.text.columns if c not in role_columns]]
        others = others.rename(columns=lambda c: f"{c} (register)"
                               if str(c).casefold() in _RESERVED else c)
        frame = pd.concat([standard, others.reset_index(drop=True)], axis=1)
        frame.columns = unique_casefold(frame.columns)
        return gpd.GeoDataFrame(frame, geometry=_points(kept(self.x), kept(self.y)),
                                crs=WORK_CRS).to_crs(crs)

    def audit(self, register: Register) -> pd.DataFrame:
        located = self.located
        return pd.DataFrame({
            "source": _source(register, len(located)),
            "row": self.index,
            "status": categorical(located.view(np.int8), ["rejected", "located"]),
            "reason": as_text(self.reason),
            "method": categorical(np.where(located, self.method, 0), _METHODS),
            "category": _every_row(None, self.index).array,
            "notes": as_text(self.notes),
            "id": register.column("id").array,
            "name": register.column("name").array,
        })


def _source(register: Register, rows: int) -> pd.Categorical:
    """The register's file name on each of ``rows`` rows."""
    return categorical(np.zeros(rows, dtype=np.int8), [register.name])


def unique_casefold(columns) -> list[str]:
    """Column names made unique ignoring case (GeoPackage columns are case-insensitive)."""
    seen: set[str] = set()
    names = []
    for column in map(str, columns):
        name = column
        while name.casefold() in seen:
            name += " (2)"
        seen.add(name.casefold())
        names.append(name)
    return names


def _in_range(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.isfinite(values) & (values >= low) & (values <= high)


def _all_degrees(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether every x/y pair given is a place in Great Britain in degrees (either way round)."""
    given = np.isfinite(x) & np.isfinite(y)
    if not given.any() or max(np.abs(x[given]).max(), np.abs(y[given]).max()) > 90:
        return False  # (metres, at a glance)
    lon, lat = _DEGREES["longitude"], _DEGREES["latitude"]
    degrees = (_in_range(x, *lon) & _in_range(y, *lat)) | (_in_range(x, *lat) & _in_range(y, *lon))
    return bool(degrees[given].all())


def is_real_id(ids: pd.Series) -> pd.Series:
    """Whether each ID (stripped, case-folded) names a row: a letter or digit in it, and
    not a placeholder (``n/a``, ``-``, ``tbc`` ...)."""
    return ids.str.contains(r"[^\W_]") & ~ids.isin(_NO_ID)


def _points(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Points from coordinate arrays: one (n, 2) array is a third faster than two."""
    return shapely.points(np.column_stack([x, y]))


def _text_at(parts, rows: np.ndarray) -> np.ndarray:
    """The concatenation of ``parts`` (text, or a value per row of the register) at
    ``rows``, as an object array."""
    out = np.full(len(rows), "", dtype=object)
    for part in parts:
        out = out + (part if isinstance(part, str) else
                     part.iloc[rows].to_numpy(dtype=object) if isinstance(part, pd.Series)
                     else np.asarray(part, dtype=object)[rows])
    return out


def id_key(ids: pd.Series) -> pd.Series:
    """IDs as compared (duplicates, snapshots, sites named): stripped and case-folded, by
    Arrow's ``lower`` where the text is ASCII (the same there), by Python's elsewhere."""
    text = ids.str.strip()
    folded = text.str.lower()
    other = text.str.isascii().eq(False).to_numpy()
    if other.any():
        folded = folded.astype(object)
        folded[other] = text[other].str.casefold()
    return folded.astype(text.dtype)


def name_key(names: pd.Series) -> pd.Series:
    """Names as compared (duplicates, sites named in a what-if): accents, case,
    punctuation and spacing ignored."""
    text = names.astype(TEXT)
    plain = text.str.lower()  # ASCII: NFKD changes nothing
    other = text.str.isascii().eq(False).to_numpy()
    if other.any():
        plain = plain.astype(object)
        plain[other] = text[other].str.normalize("NFKD").str.encode("ascii", "ignore").str.decode(
            "ascii").str.casefold()
        plain = plain.astype(TEXT)
    return plain.str.replace(r"[^0-9a-z]", "", regex=True)


def _name_codes(names: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A code per name, the same for names :func:`name_key` takes as one; and whether each
    row is named at all."""
    keys = name_key(names)
    return group_codes(keys), (keys != "").to_numpy()


def group_codes(text: pd.Series) -> np.ndarray:
    """A code per row, 0 to the number of distinct values less one, the same for equal
    text; missing values each their own. Found by sorting: a third of the time and memory
    of a hash table (``pd.factorize``) for 1.7 million distinct IDs."""
    values = pa.array(text.astype(TEXT).array)
    order = pc.sort_indices(values)
    ordered = values.take(order)
    starts = np.ones(len(values), dtype=bool)  # where a value differs from the one before
    starts[1:] = pc.fill_null(pc.not_equal(ordered[1:], ordered[:-1]), True).to_numpy(
        zero_copy_only=False)
    codes = np.empty(len(values), dtype=np.int64)
    codes[order.to_numpy()] = np.cumsum(starts) - 1
    return codes


def _repeated(codes: np.ndarray) -> np.ndarray:
    """Whether another row has the same code (codes from :func:`group_codes`)."""
    return np.bincount(codes)[codes] > 1 if len(codes) else np.zeros(0, dtype=bool)


def _first_of_groups(rows: pd.Series, keys, mask: np.ndarray) -> pd.Series:
    """For rows in ``mask``, the first row (in file order) with the same key; NaN elsewhere."""
    keys = pd.Series(np.asarray(keys), index=rows.index)
    first = rows[mask].groupby(keys[mask].to_numpy()).transform("first")
    return first.reindex(rows.index)
