"""Writing results: as one set per command (staged in a hidden folder beside the targets,
renamed into place last), and safely for spreadsheets (no text cell becomes a live formula
when Excel opens it, whatever characters it holds).

The ``*_outputs`` functions name the files each writer writes, so the command line can
check them against the files it reads before doing any work.
"""

from __future__ import annotations

import csv
import glob
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import AssetmapError, refuse_special_file
from .settings import WEB_CRS

_GEO_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}
#: Characters some reader takes for the end of a row (Python's ``str.splitlines`` takes all).
_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
#: Whitespace, control and invisible format characters (zero-width, direction marks) a
#: spreadsheet may skip, or a reader not see, before a formula starts.
_LEAD = (rf"(?:(?![{_BREAKS}])[\s\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f"
         rf"\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff])*")
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
#: Where an apostrophe goes: before a line (the cell's first, or one after a line break)
#: that starts, after whitespace, with ``= + - @`` and is not a plain number.
_FORMULA = re.compile(rf"(?:^|(?<=[{_BREAKS}]))(?={_LEAD}[=+\-@])"
                      rf"(?!{_LEAD}{_NUMBER}(?:[{_BREAKS}]|$))")
#: Our temporaries: ``.assetmap-<pid>-...`` (staging folders and files, journals included).
_TEMP_PREFIX = ".assetmap-"


def join_outputs(output: str | Path) -> list[Path]:
    """The files :func:`assetmap.write_join` writes: ``output`` (the assets), and beside it
    ``<name>_counts.csv`` and ``<name>_audit.csv``."""
    output = Path(output)
    return [output, output.with_name(f"{output.stem}_counts.csv"),
            output.with_name(f"{output.stem}_audit.csv")]


def cluster_outputs(output: str | Path, *, areas: bool = False) -> list[Path]:
    """The files :func:`assetmap.write_clusters` writes: ``output`` (the polygons), and beside
    it ``<name>_members.csv``, ``<name>_audit.csv`` and, with ``areas``, ``<name>_areas``."""
    output = Path(output)
    return [output, output.with_name(f"{output.stem}_members.csv"),
            output.with_name(f"{output.stem}_audit.csv"),
            *([output.with_name(f"{output.stem}_areas{output.suffix}")] if areas else [])]


def gap_outputs(output: str | Path) -> list[Path]:
    """The files :func:`assetmap.write_gaps` writes: ``<name>.csv``, ``.xlsx`` and ``.gpkg``
    (``output`` with or without one of these suffixes)."""
    output = Path(output)
    stem = output.with_suffix("") if output.suffix.lower() in {".csv", ".xlsx", ".gpkg"} \
        else output
    return [stem.with_suffix(suffix) for suffix in (".csv", ".xlsx", ".gpkg")]


def check_format(path: Path, *, polygons: bool = False) -> None:
    """A one-line error unless ``path`` names a format :func:`write_geo` writes (a CSV
    holds points only)."""
    suffix = path.suffix.lower()
    if suffix == ".csv" and polygons:
        raise AssetmapError("a CSV holds points, not polygons: use .gpkg or .geojson",
                            file=path)
    if suffix not in {*_GEO_DRIVERS, ".csv"}:
        raise AssetmapError("unknown output format; use .gpkg, .geojson or .csv", file=path)


def clashes(outputs: Iterable[str | Path], inputs: Iterable[str | Path]) -> None:
    """A one-line error if writing ``outputs`` would replace (or land inside) an input."""
    inputs = [Path(i) for i in inputs]
    for output in map(Path, outputs):
        target = output.resolve()
        for i in inputs:
            same = target == i.resolve() or (output.exists() and i.exists()
                                              and output.samefile(i))
            if same:
                raise AssetmapError("is an input, and this command would write it (as an "
                                    "output or beside one): choose another output name",
                                    file=i)
            if i.is_dir() and target.is_relative_to(i.resolve()):
                raise AssetmapError(f"is an input folder, and this command would write "
                                    f"{output} in it: choose another output name",
                                    file=i)


def check_writable(outputs: Iterable[str | Path]) -> None:
    """A one-line error unless every output can be written: its folder is a folder (or can
    be made in one) that accepts files, and it is neither a folder nor a pipe or device."""
    for output in map(Path, outputs):
        if output.is_dir():
            raise AssetmapError("is a folder: name a file to write", file=output)
        refuse_special_file(output, action="written")
        folder = next(p for p in output.absolute().parents if p.exists())
        if not folder.is_dir():
            raise AssetmapError(f"cannot write: {folder} is a file, not a folder", file=output)
        try:
            tempfile.TemporaryDirectory(prefix=f"{_TEMP_PREFIX}{os.getpid()}-",
                                        dir=folder).cleanup()
        except OSError as exc:
            raise AssetmapError(f"cannot write in {folder} ({exc.strerror or exc})",
                                file=output) from None


@contextmanager
def output_set(targets: Sequence[str | Path]) -> Iterator[list[Path]]:
    """Write several files as one set: yield a path per target in a hidden staging folder
    beside it (same file name); when the block succeeds, rename them all into place.

    If the block fails, or the process dies, no target changes: the old set stays whole.
    Stale staging folders and temporaries of dead assetmap processes in the targets'
    folders are cleared first. The block must write exactly the targets (a writer and its
    ``*_outputs`` function agree). A failure to write is a one-line error.
    """
    targets = [Path(t) for t in targets]
    check_writable(targets)
    folders: dict[Path, Path] = {}
    try:
        for folder in dict.fromkeys(t.parent for t in targets):
            folder.mkdir(parents=True, exist_ok=True)
            clear_stale(folder)
            folders[folder] = Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-",
                                                    suffix=".tmp", dir=folder))
        staged = [folders[t.parent] / t.name for t in targets]
        yield staged
        written = {p for folder in folders.values() for p in folder.iterdir()}
        if written != set(staged):
            raise RuntimeError(f"writer and plan disagree: wrote {sorted(written)}, "
                               f"planned {staged}")
        for temp, target in zip(staged, targets, strict=True):
            os.replace(temp, target)
    except OSError as exc:
        raise AssetmapError(f"cannot write ({exc.strerror or exc})",
                            file=targets[0] if len(targets) == 1 else targets[0].parent
                            ) from None
    except AssetmapError as error:  # a writer's error names the file, not the staging folder
        message = str(error)
        for folder, staging in folders.items():  # as given: "a.gpkg", not "./a.gpkg"
            message = message.replace(f"{staging}{os.sep}",
                                      "" if folder == Path() else f"{folder}{os.sep}")
        raise AssetmapError(message) from None
    finally:
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it into place only if the block succeeds."""
    target = Path(target)
    refuse_special_file(target, action="written")
    target.parent.mkdir(parents=True, exist_ok=True)
    clear_stale(target.parent)
    temp = target.with_name(f"{_TEMP_PREFIX}{os.getpid()}-{target.name}")
    try:
        yield temp
        os.replace(temp, target)
    finally:
        for left in target.parent.glob(f"{glob.escape(temp.name)}*"):  # and any journal
            left.unlink(missing_ok=True)


def clear_stale(folder: str | Path) -> list[Path]:
    """Remove the temporaries (files and staging folders) that dead assetmap processes left
    in ``folder``; return what was removed. Those of live processes are left alone."""
    removed = []
    for entry in Path(folder).glob(f"{_TEMP_PREFIX}*"):
        pid = entry.name.removeprefix(_TEMP_PREFIX).partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def defuse_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` whose text cells and headers are safe in a spreadsheet.

    A cell, or a line within it, that starts with ``= + - @`` (after any whitespace or
    control characters) gets an apostrophe before that line, the spreadsheet convention
    for "this is text"; so does a cell starting with a tab or carriage return. Lines that
    are plain numbers (``-1.75``) are left alone: they are not formulas. NUL characters,
    which no one types and some programs stop reading at, are dropped.
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype.kind in "biufcmM" or isinstance(values.dtype, gpd.array.GeometryDtype):
            continue
        text = values.astype(str)
        safe = _defuse(text)
        changed = values.notna() & (safe != text)
        if changed.any():
            out[column] = values.astype(object).where(~changed, safe)
    headers = pd.Series(out.columns, dtype=object)
    safe = _defuse(headers.astype(str))
    changed = safe != headers.astype(str)
    if changed.any():
        out.columns = headers.where(~changed, safe)
    return out


def _defuse(text: pd.Series) -> pd.Series:
    """Text made safe line by line (see :func:`defuse_formulas`)."""
    text = text.str.replace("\x00", "", regex=False)
    text = text.where(~text.str.startswith(("\t", "\r")), "'" + text)
    return text.str.replace(_FORMULA, "'", regex=True)


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a CSV that Excel opens cleanly: UTF-8 with BOM, CRLF rows, every text cell
    quoted (so a line break inside one never splits the row), formulas defused."""
    path = Path(path)
    with atomic_path(path) as temp:
        defuse_formulas(frame).to_csv(temp, index=False, encoding="utf-8-sig",
                                      quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    return path


def write_geo(frame: gpd.GeoDataFrame, path: str | Path, *, layer: str | None = None) -> Path:
    """Write a GeoPackage, GeoJSON (in WGS84, as RFC 7946 asks) or CSV.

    A CSV gets the geometry as ``easting``/``northing`` (points) and no geometry column.
    The layer is named ``layer``, else after the file (``assets.gpkg``: ``assets``).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        check_format(path, polygons=not frame.geom_type.isin(["Point", None]).all())
        return write_table(_points_as_columns(frame), path)
    check_format(path)
    if _GEO_DRIVERS[suffix] == "GeoJSON":
        frame = frame.to_crs(WEB_CRS)
    with atomic_path(path) as temp:
        frame.to_file(temp, driver=_GEO_DRIVERS[suffix], layer=layer or path.stem,
                      engine="pyogrio")
    return path


def _points_as_columns(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    if "easting" not in out and "northing" not in out:
        out["easting"], out["northing"] = frame.geometry.x.round(1), frame.geometry.y.round(1)
    return out


def write_geo_layers(frames: Mapping[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """Write several layers (name: frame) into one GeoPackage, atomically."""
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise AssetmapError("several layers need a GeoPackage (.gpkg)", file=path)
    with atomic_path(path) as temp:
        for layer, frame in frames.items():
            frame.to_file(temp, driver="GPKG", layer=layer, engine="pyogrio")
    return path


def write_xlsx(
    sheets: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    formats: Mapping[str, str] | None = None,
) -> Path:
    """Write a workbook for analysts, atomically: a sheet per frame, in order.

    Each sheet has a bold header row, frozen, with filters on; number formats by column
    name from ``formats`` (e.g. ``{"population": "#,##0"}``); columns sized to their
    contents. Every text cell is stored as text: one starting with ``= + - @`` never
    becomes a formula (and is quote-prefixed, so editing it in Excel keeps it text).
    Missing values are empty cells; sheet names are made valid (31 characters, no ``[]:*?/\\``).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    formats = formats or {}
    book = Workbook()
    book.remove(book.active)
    for title, frame in sheets.items():
        sheet = book.create_sheet(_sheet_title(title, book.sheetnames))
        for j, column in enumerate(frame.columns, start=1):
            header = _set_cell(sheet.cell(1, j), str(column))
            header.font, header.alignment = Font(bold=True), Alignment(wrap_text=True,
                                                                      vertical="top")
            cells = _cell_values(frame[column])
            for i, value in enumerate(cells, start=2):
                cell = _set_cell(sheet.cell(i, j), value)
                if str(column) in formats and not isinstance(value, str):
                    cell.number_format = formats[str(column)]
            longest = max((len(str(v)) for v in cells[:500] if v is not None), default=0)
            sheet.column_dimensions[get_column_letter(j)].width = min(
                max(longest, min(len(str(column)), 24), 6) + 2, 60)
        sheet.freeze_panes = "A2"
        if len(frame.columns):
            sheet.auto_filter.ref = sheet.dimensions
    with atomic_path(path) as temp:
        book.save(temp)
    return path


def _cell_values(values: pd.Series) -> list:
    """Python values for spreadsheet cells: numbers, booleans, text, or None (missing)."""
    if values.dtype.kind in "biuf":
        cast = values.astype(object).where(values.notna(), None)
        return [v.item() if isinstance(v, np.generic) else v for v in cast]
    out = []
    for value in values.astype(object):
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            out.append(None)
        elif isinstance(value, bool | int | float | np.generic):
            out.append(value.item() if isinstance(value, np.generic) else value)
        else:
            out.append(str(value))
    return out


def _set_cell(cell, value):
    """Put a value in an openpyxl cell; text always as text, never a formula."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)  # "\x0b=1" is stored as "=1"
        cell.value = value
        cell.data_type = "s"
        if value.startswith(("\t", "\r")) or _FORMULA.match(value):
            cell.quotePrefix = True
    else:
        cell.value = value
    return cell


def _sheet_title(title: str, taken: list[str]) -> str:
    """A valid, unused Excel sheet name."""
    base = re.sub(r"[\[\]:*?/\\]", "_", str(title)).strip("'")[:31] or "sheet"
    name, n = base, 1
    while name.casefold() in {t.casefold() for t in taken}:
        n += 1
        name = f"{base[:31 - len(str(n)) - 1]}_{n}"
    return name
