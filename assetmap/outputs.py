"""Writing results: as one set per command (staged in a hidden folder beside the targets,
renamed into place last), and safely for spreadsheets (no text cell becomes a live formula
when Excel opens it, whatever characters it holds).

The ``*_outputs`` functions name the files each writer writes, so the command line can
check them against the files it reads before doing any work.
"""

from __future__ import annotations

import codecs
import datetime
import glob
import io
import os
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import AssetmapError, refuse_special_file
from .registers import TEXT
from .settings import WEB_CRS

_GEO_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}
#: Characters some reader takes for the end of a row (Python's ``str.splitlines`` takes all).
_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
#: Whitespace, control and invisible format characters (zero-width, direction marks) a
#: spreadsheet may skip, or a reader not see, before a formula starts.
_LEAD = (rf"(?:(?![{_BREAKS}])[\s\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f"
         rf"\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff])*")
#: A number as typed: sign, digits, point, exponent.
NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
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
#: The date written workbooks carry (document properties and zip entries): none, in effect.
_FIXED_TIME = datetime.datetime(1980, 1, 1)


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
        safe = _defused(values)
        if safe is not None:
            out[column] = safe
    headers = _defused(pd.Series(out.columns, dtype=object).astype(str))
    if headers is not None:
        out.columns = headers
    return out


def _defused(values: pd.Series) -> pd.Series | None:
    """``values`` with the cells that need it made safe, as objects; ``None`` when none
    does. Only cells holding a character of :data:`_RISKY` go through the rules."""
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
        _, offsets, data = chunk.buffers()
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(offsets, dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1]
        chars = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
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
    (written bare), every other column as text (written quoted), missing values empty."""
    import pyarrow as pa

    columns = []
    for _, values in frame.items():
        if values.dtype.kind in "biuf":
            columns.append(pa.array(values, from_pandas=True))
        else:
            text = values.astype("str")
            columns.append(pa.array(text, type=pa.string(), from_pandas=True))
    return pa.Table.from_arrays(columns, names=[str(name) for name in frame.columns])


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
    with atomic_path(path) as temp, _fixed_gpkg_date():
        frame.to_file(temp, driver=_GEO_DRIVERS[suffix], layer=layer or path.stem,
                      engine="pyogrio")
    return path


def _points_as_columns(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    if "easting" not in out and "northing" not in out:
        out["easting"], out["northing"] = frame.geometry.x.round(1), frame.geometry.y.round(1)
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
    becomes a formula (and is quote-prefixed, so editing it in Excel keeps it text).
    Missing values are empty cells; sheet names are made valid (31 characters, no ``[]:*?/\\``).
    ``titles`` (sheet: text) puts a bold line above a sheet's table. ``printable`` sets
    every sheet to print on A4 landscape, one page wide, the header row on each page, long
    text wrapped. The same sheets give the same bytes (the file's dates are fixed).
    """
    from openpyxl import Workbook

    path = Path(path)
    book = Workbook(write_only=True)  # rows streamed: several times faster than cell by cell
    for title, frame in sheets.items():
        sheet = book.create_sheet(_sheet_title(title, [s.title for s in book.worksheets]))
        _fill_sheet(sheet, frame, (titles or {}).get(title), formats or {}, printable)
    with atomic_path(path) as temp:
        _save_fixed(book, temp)
    return path


def _fill_sheet(sheet, frame: pd.DataFrame, title: str | None, formats: Mapping[str, str],
                printable: bool) -> None:
    """Write ``frame`` into a write-only ``sheet``, below ``title`` when given (see
    :func:`write_xlsx`). Layout (widths, frozen header, filter, print set-up) comes first:
    a write-only sheet takes it before its rows."""
    from openpyxl.utils import get_column_letter

    top = 1 if title is None else 3
    columns = [_cell_values(frame[column]) for column in frame.columns]
    widths = []
    for j, (column, cells) in enumerate(zip(frame.columns, columns, strict=True), start=1):
        longest = max((len(str(v)) for v in cells[:500] if v is not None), default=0)
        widths.append(min(max(longest, min(len(str(column)), 24), 6) + 2, 60))
        sheet.column_dimensions[get_column_letter(j)].width = widths[-1]
    sheet.freeze_panes = f"A{top + 1}"
    if len(frame.columns):
        sheet.auto_filter.ref = f"A{top}:{get_column_letter(len(frame.columns))}" \
                                f"{top + len(frame)}"
    if printable:
        _print_setup(sheet, top)
    if title is not None:
        sheet.append([_text_cell(sheet, title, font=_style("title"))])
        sheet.append([])
    sheet.append([_text_cell(sheet, str(column), font=_style("header"),
                             alignment=_style("wrap")) for column in frame.columns])
    shaped = []
    for column, cells, width in zip(frame.columns, columns, widths, strict=True):
        number = formats.get(str(column))
        shaped.append([_shaped(sheet, value, number, printable and width - 2) for value in cells])
    for row in zip(*shaped, strict=True):
        sheet.append(row)


def _shaped(sheet, value, number_format: str | None, wrap_beyond: int | bool):
    """A value as a write-only sheet takes it: text as a text cell (never a formula),
    numbers with ``number_format`` as a cell, anything else as it is."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        wrap = wrap_beyond is not False and len(value) > wrap_beyond
        return _text_cell(sheet, value, alignment=_style("wrap") if wrap else None)
    if number_format is not None and value is not None:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = number_format
        return cell
    return value


def _text_cell(sheet, value: str, *, font=None, alignment=None):
    """Text stored as text: illegal characters dropped, quote-prefixed when it would read as
    a formula."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = ILLEGAL_CHARACTERS_RE.sub("", value)  # "\x0b=1" is stored as "=1"
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    if value.startswith(("\t", "\r")) or _FORMULA.match(value):
        cell.quotePrefix = True
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    return cell


def _style(name: str):
    """The few cell styles the workbooks use (one object each, shared by the cells)."""
    from openpyxl.styles import Alignment, Font

    return {"title": Font(bold=True, size=14), "header": Font(bold=True),
            "wrap": Alignment(wrap_text=True, vertical="top")}[name]


def _print_setup(sheet, header_row: int) -> None:
    """A4 landscape, one page wide (as many long as needed), the header row on every
    page, gridlines and page numbers."""
    from openpyxl.worksheet.properties import PageSetupProperties
    from openpyxl.worksheet.worksheet import Worksheet

    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.print_options.gridLines = True
    sheet.oddFooter.center.text = "Page &P of &N"


def _save_fixed(book, path: Path) -> None:
    """Save an openpyxl workbook so the same content gives the same bytes: the document's
    created/modified dates and every zip entry's time are fixed."""
    from openpyxl.writer.excel import ExcelWriter

    book.properties.created = book.properties.modified = _FIXED_TIME
    staged = io.BytesIO()
    ExcelWriter(book, zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED,
                                      allowZip64=True)).save()
    with zipfile.ZipFile(staged) as source, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target:
        for item in source.infolist():
            entry = zipfile.ZipInfo(item.filename, date_time=_FIXED_TIME.timetuple()[:6])
            entry.compress_type, entry.external_attr = item.compress_type, item.external_attr
            target.writestr(entry, source.read(item))


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


def _sheet_title(title: str, taken: list[str]) -> str:
    """A valid, unused Excel sheet name."""
    base = re.sub(r"[\[\]:*?/\\]", "_", str(title)).strip("'")[:31] or "sheet"
    name, n = base, 1
    while name.casefold() in {t.casefold() for t in taken}:
        n += 1
        name = f"{base[:31 - len(str(n)) - 1]}_{n}"
    return name
