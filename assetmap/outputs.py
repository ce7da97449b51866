"""Writing results: as one set per command (staged in a hidden folder beside the targets,
renamed into place last), and safely for spreadsheets (no text cell becomes a live formula
when Excel opens it, whatever characters it holds).

The ``*_outputs`` functions name the files each writer writes, so the command line can
check them against the files it reads before doing any work.
"""

from __future__ import annotations

import codecs
import glob
import io
import os
import re
import shutil
import tempfile
import threading
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import AssetmapError, first_line, refuse_special_file
from .registers import NUMBER, TEXT, text_buffers
from .settings import WEB_CRS

_GEO_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}
#: Characters some reader takes for the end of a row (Python's ``str.splitlines`` takes all).
_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
#: Whitespace, control and invisible format characters (zero-width, direction marks) a
#: spreadsheet may skip, or a reader not see, before a formula starts.
_LEAD = (rf"(?:(?![{_BREAKS}])[\s\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f"
         rf"\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff])*")
#: Where an apostrophe goes: before a line (the cell's first, or one after a line break)
#: that starts, after whitespace, with ``= + - @`` and is not a plain number.
_FORMULA = re.compile(rf"(?:^|(?<=[{_BREAKS}]))(?={_LEAD}[=+\-@])"
                      rf"(?!{_LEAD}{NUMBER}(?:[{_BREAKS}]|$))")
#: A cell :func:`_defused` may change holds one of these (a formula sign, NUL, tab or CR):
#: ASCII, so in UTF-8 their bytes are never part of another character.
_RISKY = "=+-@\x00\t\r"
_RISKY_BYTES = np.isin(np.arange(256), list(_RISKY.encode()))
#: Our temporaries: ``.assetmap-<pid>-...`` (staging folders and files, journals included).
_TEMP_PREFIX = ".assetmap-"
#: ``gpkg_contents.last_change`` of every GeoPackage written: fixed, so that the same frames
#: give the same bytes (the file's own time says when it was written).
GPKG_DATE = "1980-01-01T00:00:00.000Z"
_GDAL_CONFIG = threading.Lock()  # GDAL's config options are process-wide
#: The dates written workbooks carry (the document's and its zip entries'): none, in effect.
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_FIXED_DATE = b"1980-01-01T00:00:00Z"
#: What printable text needing a quote prefix starts with (other lead characters of
#: ``_FORMULA`` are not printable).
_QUOTE_FIRST = frozenset("=+-@ ")
#: The types a cell's value is written as (``None`` aside, an empty cell).
_PLAIN = frozenset({str, int, float, bool})
_MAX_ROWS, _MAX_COLUMNS = 1_048_576, 16_384  # a worksheet's
_MAX_CHARS = 32_767  # a cell's
_CUT = " [cut: a cell holds 32,767 characters]"


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
    out = frame.copy(deep=False)  # columns made safe are replaced, not written into
    for column in out.columns:
        values = out[column]
        if values.dtype.kind in "biufcmM" or isinstance(values.dtype, gpd.array.GeometryDtype):
            continue
        safe = _defused(values)
        if safe is not None:
            out[column] = safe
    headers = _defused(pd.Series(out.columns, dtype=object).astype(str))
    if headers is not None:
        out.columns = headers
    return out


def _defused(values: pd.Series) -> pd.Series | None:
    """``values`` with the cells that need it made safe, as objects; ``None`` when none
    does. Only cells holding a character of :data:`_RISKY` go through the rules; of a
    categorical column, only its categories."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        labels = _defused(pd.Series(values.cat.categories))
        if labels is None or labels.is_unique:
            return labels if labels is None else values.cat.rename_categories(labels.array)
    text = values.astype(TEXT)
    rows = np.flatnonzero(_risky(text) & text.notna().to_numpy())
    part = text.iloc[rows]
    safe = part.str.replace("\x00", "", regex=False)
    safe = safe.where(~safe.str.startswith(("\t", "\r")), "'" + safe)
    safe = safe.str.replace(_FORMULA, "'", regex=True)
    changed = (safe != part).to_numpy()
    if not changed.any():
        return None
    out = values.astype(object)
    out.iloc[rows[changed]] = safe[changed].to_numpy()
    return out


def _risky(text: pd.Series) -> np.ndarray:
    """Whether each cell holds a character of :data:`_RISKY`: looked for in Arrow's buffer of
    all the column's characters at once, and found cells told by the cells' offsets."""
    import pyarrow as pa

    array = pa.array(text.array)
    masks = [np.zeros(0, dtype=bool)]
    for chunk in array.chunks if isinstance(array, pa.ChunkedArray) else [array]:
        offsets, chars = text_buffers(chunk)
        hits = np.flatnonzero(_RISKY_BYTES[chars[offsets[0]:offsets[-1]]]) + offsets[0]
        mask = np.zeros(len(chunk), dtype=bool)
        mask[np.searchsorted(offsets, hits, side="right") - 1] = True
        masks.append(mask)
    return np.concatenate(masks)


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a CSV that Excel opens cleanly: UTF-8 with BOM, CRLF rows, every text cell
    quoted (so a line break inside one never splits the row), formulas defused."""
    import pyarrow.csv

    path = Path(path)
    table = _arrow_table(defuse_formulas(frame))
    with atomic_path(path) as temp, open(temp, "wb") as out:
        out.write(codecs.BOM_UTF8)
        pyarrow.csv.write_csv(table, out, pyarrow.csv.WriteOptions(eol="\r\n"))
    return path


def _arrow_table(frame: pd.DataFrame):
    """``frame`` as an Arrow table for the CSV writer: numbers and booleans as they are
    (written bare), categorical columns as dictionaries and every other column as text
    (both written quoted), missing values empty."""
    import pyarrow as pa

    columns = []
    for _, values in frame.items():
        if values.dtype.kind in "biuf" or isinstance(values.dtype, pd.CategoricalDtype):
            columns.append(pa.array(values, from_pandas=True))  # categories: written once
        else:
            columns.append(pa.array(values.astype(TEXT), from_pandas=True))  # no copy
    return pa.Table.from_arrays(columns, names=[str(name) for name in frame.columns])


def write_geo(frame: gpd.GeoDataFrame, path: str | Path, *, layer: str | None = None) -> Path:
    """Write a GeoPackage, GeoJSON (in WGS84, as RFC 7946 asks) or CSV.

    A CSV gets the geometry as ``easting``/``northing`` (points) and no geometry column.
    The layer is named ``layer``, else after the file (``assets.gpkg``: ``assets``).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        kinds = shapely.get_type_id(np.asarray(frame.geometry.array))
        check_format(path, polygons=not np.isin(kinds, (-1, 0)).all())  # missing, or points
        return write_table(_points_as_columns(frame), path)
    check_format(path)
    if _GEO_DRIVERS[suffix] == "GeoJSON":
        frame = frame.to_crs(WEB_CRS)
    with atomic_path(path) as temp, _fixed_gpkg_date():
        frame.to_file(temp, driver=_GEO_DRIVERS[suffix], layer=layer or path.stem,
                      engine="pyogrio")
    return path


def _points_as_columns(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    if "easting" not in out and "northing" not in out:
        points = np.asarray(frame.geometry.array)  # points or missing (NaN), as checked
        out["easting"], out["northing"] = (np.round(shapely.get_x(points), 1),
                                           np.round(shapely.get_y(points), 1))
    return out


def write_geo_layers(frames: Mapping[str, gpd.GeoDataFrame], path: str | Path, *,
                     styles: Mapping[str, str] | None = None) -> Path:
    """Write several layers (name: frame) into one GeoPackage, atomically; with ``styles``
    (layer name: QML, see :mod:`assetmap.styles`), each its layer's default QGIS style."""
    from .styles import write_layer_styles

    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise AssetmapError("several layers need a GeoPackage (.gpkg)", file=path)
    unknown = [name for name in styles or {} if name not in frames]
    if unknown:
        raise AssetmapError(f"a style for no layer: {', '.join(map(repr, unknown))}; layers "
                            f"are {', '.join(frames)}", file=path)
    with atomic_path(path) as temp, _fixed_gpkg_date():
        for layer, frame in frames.items():
            frame.to_file(temp, driver="GPKG", layer=layer, engine="pyogrio")
        if styles:
            write_layer_styles(temp, styles)
    return path


@contextmanager
def _fixed_gpkg_date() -> Iterator[None]:
    """GeoPackages written in this block carry :data:`GPKG_DATE`, not the clock's time,
    in ``gpkg_contents.last_change`` (GDAL's ``OGR_CURRENT_DATE``): the same frames give
    the same bytes. The option is process-wide, so it is set under a lock and restored."""
    import pyogrio

    with _GDAL_CONFIG:
        before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
        try:
            yield
        finally:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})


def write_xlsx(
    sheets: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    formats: Mapping[str, str] | None = None,
    titles: Mapping[str, str] | None = None,
    printable: bool = False,
) -> Path:
    """Write a workbook, atomically: a sheet per frame, in order.

    Each sheet has a bold header row, frozen, with filters on; number formats by column
    name from ``formats`` (e.g. ``{"population": "#,##0"}``); columns sized to their
    contents. Every text cell is stored as text: one starting with ``= + - @`` never
    becomes a formula, and its column is quote-prefixed, so editing it in Excel keeps it
    text. Missing values are empty cells, infinite numbers the text ``inf``, text longer than a
    cell holds is cut and says so (the CSV outputs keep it whole); sheet names are
    made valid (31 characters, no ``[]:*?/\\``). ``titles`` (sheet: text) puts a bold line
    above a sheet's table. ``printable`` sets every sheet to print on A4 landscape, one page
    wide, the header row on each page, columns of long text wrapped. The same sheets give
    the same bytes (the file's dates are fixed). Written by Rust's ``rust_xlsxwriter``.
    """
    from rustpy_xlsxwriter import write_worksheets

    entries, options, taken = [], defaultdict(dict), []
    for title, frame in sheets.items():
        taken.append(_sheet_title(title, taken))
        entries.append((taken[-1], _sheet(frame, taken[-1], (titles or {}).get(title),
                                          formats or {}, printable, options)))
    workbook = io.BytesIO()
    try:
        write_worksheets(entries, workbook, inf_value="inf", **options)
    except (RuntimeError, ValueError) as exc:  # what rust_xlsxwriter refuses
        raise AssetmapError(f"cannot write the workbook ({first_line(exc)})", file=path) from None
    with atomic_path(path) as temp:
        _with_fixed_dates(workbook.getvalue(), temp)
    return Path(path)


def _sheet(frame: pd.DataFrame, name: str, title: str | None, formats: Mapping[str, str],
           printable: bool, options: dict) -> pd.DataFrame:
    """The cells of one sheet as the writer takes them (see :func:`write_xlsx`), its layout
    added to ``options`` (the writer's options, by sheet name)."""
    from rustpy_xlsxwriter import Format

    top = 0 if title is None else 2  # the header row, counted from 0
    if top + 1 + len(frame) > _MAX_ROWS or len(frame.columns) > _MAX_COLUMNS:  # else cut
        raise AssetmapError(f"sheet {name!r}: {len(frame):,} rows x {len(frame.columns):,} "
                            f"columns do not fit on a worksheet ({_MAX_ROWS:,} x "
                            f"{_MAX_COLUMNS:,} cells)")
    columns, widths, styles = {}, [], []
    for j, column in enumerate(frame.columns):
        values = frame.iloc[:, j]  # by position: two columns may share a name
        header = _free_name(_text(str(column))[0], columns)
        if isinstance(values.dtype, np.dtype) and values.dtype.kind in "biuf":
            cells, text, quote = values.to_numpy(), [], False
        else:
            cells, quote = _cell_values(values)
            text = [v for v in cells if v.__class__ is str]
        columns[header] = cells
        longest = max((len(str(v)) for v in cells[:500] if v is not None), default=0)
        widths.append(min(max(longest, min(len(header), 24), 6) + 2, 60))
        style = {"num_format": formats.get(str(column)),  # quote text-only columns
                 "quote": quote and len(text) == len(cells) - sum(v is None for v in cells),
                 "wrap": printable and any(len(v) > widths[-1] - 2 for v in text)}
        styles.append(_format(Format(), **style) if any(style.values()) else None)
    options["freeze_panes"][name] = {"row": top + 1, "col": 0}
    options["column_widths"][name] = widths
    options["column_formats"][name] = styles
    options["header_format"][name] = _format(Format(), bold=True, wrap=True)
    options["autofilter"][name] = bool(columns)
    if title is not None:
        text, quote = _text(title)
        options["header_row"][name] = top
        options["merge_ranges"][name] = [(0, 0, 0, max(len(columns) - 1, 1), text,
                                          _format(Format(), bold=True, size=14, quote=quote))]
    if printable:
        options["page_setup"][name] = {
            "landscape": True, "paper_size": 9, "fit_to_pages": (1, 0), "repeat_rows": top,
            "print_gridlines": True, "footer": "&CPage &P of &N"}
    return pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))


def _format(cell_format, *, bold: bool = False, size: int | None = None, wrap: bool = False,
            quote: bool = False, num_format: str | None = None):
    """A ``rustpy_xlsxwriter.Format`` with these properties (wrapped text aligned top)."""
    if bold:
        cell_format.set_bold()
    if size:
        cell_format.set_font_size(size)
    if wrap:
        cell_format.set_text_wrap().set_align("top")
    if quote:
        cell_format.set_quote_prefix()
    if num_format:
        cell_format.set_num_format(num_format)
    return cell_format


def _free_name(name: str, taken: Mapping[str, object]) -> str:
    """``name``, or ``name (2)``, ``name (3)`` ... when a column is named so already."""
    free, n = name, 1
    while free in taken:
        n += 1
        free = f"{name} ({n})"
    return free


def _text(value: str) -> tuple[str, bool]:
    """Text as a cell holds it: characters XML cannot hold dropped, CR as any XML reader
    takes it (LF), cut to what a cell holds (saying so); and whether it needs a quote prefix
    to stay text when edited."""
    quote = False
    if not value.isprintable():  # only such text holds an illegal character, tab or CR
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        value = ILLEGAL_CHARACTERS_RE.sub("", value)  # "\x0b=1" is stored as "=1"
        quote = value.startswith(("\t", "\r"))
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if len(value.encode("utf-16-le")) > 2 * _MAX_CHARS:  # Excel counts UTF-16 units
        value = _utf16_cut(value, _MAX_CHARS - len(_CUT)) + _CUT
    return value, quote or _FORMULA.match(value) is not None


def _with_fixed_dates(workbook: bytes, target: Path) -> None:
    """Copy a workbook to ``target`` with its dates fixed: the document's creation and
    modification times, and each zip entry's."""
    with zipfile.ZipFile(io.BytesIO(workbook)) as source, zipfile.ZipFile(target, "w") as copy:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", _FIXED_DATE, data)
            copy.writestr(zipfile.ZipInfo(entry.filename, _FIXED_TIME), data,
                          compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)


def _cell_values(values: pd.Series) -> tuple[np.ndarray, bool]:
    """Python values for spreadsheet cells: numbers, booleans, text (as :func:`_text` keeps
    it), or None (missing); and whether some text needs a quote prefix."""
    cells = values.to_numpy(dtype=object, copy=True)
    cells[values.isna().to_numpy()] = None  # NaN, NA and NaT alike
    quote = False
    for i, v in enumerate(cells):
        if v is None:
            continue
        if v.__class__ not in _PLAIN:
            v = cells[i] = _plain(v)
        if v.__class__ is str and (not v.isprintable() or v[:1] in _QUOTE_FIRST
                                   or len(v) > _MAX_CHARS // 2):  # 2 UTF-16 units each
            cells[i], needs = _text(v)
            quote = quote or needs
    return cells, quote


def _plain(value) -> int | float | bool | str:
    """A cell's value that is not a Python number, boolean or text: a NumPy number or boolean
    as Python's, anything else as its text."""
    if isinstance(value, np.generic):
        value = value.item()
        if value.__class__ in _PLAIN:
            return value
    return str(value)


def _sheet_title(title: str, taken: list[str]) -> str:
    """A valid, unused Excel sheet name."""
    base = _utf16_cut(re.sub(r"[\[\]:*?/\\]", "_", str(title)).strip("'"), 31).rstrip("'") \
        or "sheet"
    name, n = base, 1
    while name.casefold() in {t.casefold() for t in taken}:
        n += 1
        name = f"{_utf16_cut(base, 31 - len(str(n)) - 1)}_{n}"
    return name


def _utf16_cut(text: str, units: int) -> str:
    """``text`` cut to ``units`` UTF-16 code units, as Excel counts a sheet name's length."""
    text = text[:units]
    while len(text.encode("utf-16-le")) > 2 * units:
        text = text[:-1]
    return text
