"""Reading asset registers: CSV, XLSX and any OGR format, with column roles detected.

A register is read as text, exactly as typed: every cell a string, blank cells ``""``,
indexed by the row number a person sees when opening the file (1-based, header included).
Files are never modified.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import re
import tomllib
import zipfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pandas.api.types import union_categoricals

from .errors import AssetmapError, first_line, refuse_special_file
from .settings import WORK_CRS, XLSX_MAX_BYTES, XLSX_MAX_RATIO, XLSX_RATIO_FROM_BYTES, resource_dir


def _column_names() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Header names and words per role, from ``assets/column_names.toml``."""
    table = tomllib.loads((resource_dir("assets") / "column_names.toml").read_text("utf-8"))
    return ({role: tuple(entry["names"]) for role, entry in table.items()},
            {role: tuple(entry["words"]) for role, entry in table.items()})


#: Column roles, and the (normalised) header names people use for them; and the fallback:
#: a header containing one of a role's words takes the role (when no header is a name).
ROLE_NAMES, ROLE_WORDS = _column_names()
_HEADER_SEARCH_ROWS = 30
#: Byte-order marks and the encoding they announce (Excel's "Unicode Text" is UTF-16).
_BOMS = {codecs.BOM_UTF8: "utf-8-sig", codecs.BOM_UTF16_LE: "utf-16",
         codecs.BOM_UTF16_BE: "utf-16"}
#: CSV delimiters tried, and how many lines are used to choose one.
_DELIMITERS = ",;\t|"
_DELIMITER_SEARCH_ROWS = 50
#: The start of a file that is enough to choose its delimiter and find its header.
_HEAD_CHARS = 2**22
#: Suffixes read as CSV (also gzipped: ``.csv.gz``).
_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
#: How cells are held: text in Arrow memory, worked on by Arrow's string kernels.
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)
#: A number as typed: sign, digits, point, exponent.
NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
#: ``str.strip`` over a whole array of cells at once.
_STRIP = np.frompyfunc(str.strip, 1, 1)


@dataclass
class Register:
    """A register read as text, with the role of each column that has one."""

    path: Path
    frame: pd.DataFrame
    roles: dict[str, str] = field(default_factory=dict)
    header_row: int = 1
    encoding: str | None = None
    delimiter: str | None = None
    #: Whether every cell is stripped already (as :func:`read_register` reads them).
    stripped: bool = False

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def cells(self) -> pd.DataFrame:
        """Every cell but geometry as text, stripped: worked out once, used by every check."""
        frame = self.frame
        text = frame.drop(columns=frame.geometry.name) if isinstance(frame, gpd.GeoDataFrame) \
            else frame
        if self.stripped:
            return text
        return pd.DataFrame({column: values.astype(TEXT).str.strip()
                             for column, values in text.items()}, index=text.index)

    def column(self, role: str) -> pd.Series:
        """The cells of the column playing ``role`` (all ``""`` when none does)."""
        if role in self.roles:
            return self.frame[self.roles[role]].astype(str)
        return pd.Series("", index=self.frame.index, dtype=object)


def normalise_header(text: str) -> str:
    """Header as compared with :data:`ROLE_NAMES`: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", str(text).lower())


def detect_roles(columns, explicit: dict[str, str] | None = None, *, file=None) -> dict[str, str]:
    """Map roles to columns: explicit choices first, then exact names, then words in names."""
    columns = [str(c) for c in columns]
    roles: dict[str, str] = {}
    for role, column in (explicit or {}).items():
        if role not in ROLE_NAMES:
            raise AssetmapError(f"unknown column role {role!r}; roles are {', '.join(ROLE_NAMES)}",
                                file=file)
        if column not in columns:
            raise AssetmapError(
                f"no such column for role {role!r}; columns are {', '.join(columns)}",
                file=file, column=column)
        roles[role] = column
    normalised = {c: normalise_header(c) for c in columns}
    for role, names in ROLE_NAMES.items():
        taken = set(roles.values())
        exact = [c for c in columns if normalised[c] in names and c not in taken]
        fuzzy = [c for c in columns if c not in taken
                 and any(word in normalised[c] for word in ROLE_WORDS[role])]
        if role not in roles and (exact or fuzzy):
            roles[role] = (exact or fuzzy)[0]
    return roles


def describe_roles(register: Register) -> str:
    """The column of each role, e.g. ``"name: Site Name, postcode: Post Code"``.

    A column whose header is not one of the role's usual names (found by a word in it, or
    named explicitly) is marked ``(no exact match)``.
    """
    parts = [f"{role}: {column}" + ("" if normalise_header(column) in ROLE_NAMES[role]
                                    else " (no exact match)")
             for role in ROLE_NAMES if (column := register.roles.get(role)) is not None]
    return ", ".join(parts) or "no column has a role"


def read_register(
    path: str | Path,
    *,
    sheet: str | None = None,
    roles: dict[str, str] | None = None,
    header_row: int | None = None,
) -> Register:
    """Read a register file as text and detect its column roles.

    Parameters
    ----------
    path
        CSV (UTF-8 with or without BOM, or Windows-1252), XLSX, or any format OGR reads
        (GeoJSON, GeoPackage, Shapefile, ...); or Open Referral UK services (a JSON file, a
        folder of JSON page dumps, or an ``http(s)://`` endpoint: :func:`assetmap.oruk.read_oruk`).
    sheet
        XLSX sheet name (or 1-based number), or the layer (name or number) of a
        multi-layer OGR file. Default: the first sheet; a file with several layers needs it.
    roles
        Explicit ``{role: column}`` choices, overriding detection. Roles: see :data:`ROLE_NAMES`.
    header_row
        The header's row number in a CSV or XLSX file (1-based, as a spreadsheet shows it).
        Default: the first of the top rows naming the most roles (names of one letter do not
        count, so a row of Y/N flags is never the header), else the first fullest row.
    """
    from . import oruk

    if oruk.is_url(path):
        return _read_oruk(path, sheet, roles, header_row)
    path = Path(path)
    if not path.exists():
        raise AssetmapError("file not found", file=path)
    refuse_special_file(path)
    suffix = path.suffix.lower()
    if path.is_dir() or (suffix == ".json" and oruk.is_oruk(path)):
        return _read_oruk(path, sheet, roles, header_row)
    encoding = delimiter = None
    merged: list[tuple[int, int, int, int]] = []
    if suffix in _CSV_SUFFIXES or (suffix == ".gz" and path.stem.lower().endswith(
            tuple(_CSV_SUFFIXES))):
        data = _csv_bytes(path)
        head, encoding = _decoded(data[:_HEAD_CHARS], path, partial=True)
        delimiter = _delimiter(head)
        frame = _arrow_csv(data, head, encoding, delimiter, header_row)
        if frame is not None:
            return Register(path, frame, detect_roles(frame.columns, roles, file=path),
                            encoding=encoding, delimiter=delimiter, stripped=True)
        text, encoding = _decoded(data, path)
        del data
        delimiter = _delimiter(text)
        rows = _csv_rows(text, delimiter, path)
        del text
    elif suffix in {".xlsx", ".xlsm"}:
        _refuse_zip_bomb(path)
        rows, merged = _xlsx_rows(path, sheet)
    elif suffix == ".xls":
        raise AssetmapError("old .xls workbooks are not read; save it as .xlsx", file=path)
    else:
        if header_row is not None:
            raise AssetmapError("a header row is chosen in CSV and XLSX registers only",
                                file=path)
        frame = _read_ogr(path, sheet)
        return Register(path, frame, detect_roles(frame.columns.drop("geometry"), roles,
                                                  file=path), stripped=True)
    cells, widths = _grid(rows)
    del rows  # the cells hold the same text
    if not cells.size or not (cells != "").any():
        raise AssetmapError("the file is empty", file=path)
    if header_row is not None and not 1 <= header_row <= len(cells):
        raise AssetmapError(f"no header row {header_row}: the file has {len(cells)} rows",
                            file=path)
    header = _find_header(cells) if header_row is None else header_row - 1
    _fill_merged(cells, merged, header)
    frame = _table(cells, widths, header)
    return Register(path, frame, detect_roles(frame.columns, roles, file=path),
                    header_row=header + 1, encoding=encoding, delimiter=delimiter, stripped=True)


def _read_oruk(source: str | Path, sheet: str | None, roles: dict[str, str] | None,
               header_row: int | None) -> Register:
    """An Open Referral register (:func:`assetmap.oruk.read_oruk`): no sheet or header row."""
    from .oruk import read_oruk

    if sheet is not None or header_row is not None:
        raise AssetmapError("a sheet or header row is not chosen in an Open Referral register",
                            file=source)
    return read_oruk(source, roles=roles)


def _csv_bytes(path: Path) -> bytes:
    """The file's bytes, unzipped."""
    data = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise AssetmapError(f"cannot read as a gzipped CSV ({first_line(exc)})",
                                file=path) from None
    return data


def _decoded(data: bytes, path: Path, *, partial: bool = False) -> tuple[str, str]:
    """The text and the encoding that decoded it (its BOM's, else UTF-8, Windows-1252 or
    Latin-1); ``partial``: the start of a file, maybe cut inside a character."""
    marked = next((encoding for bom, encoding in _BOMS.items() if data.startswith(bom)), "utf-8")
    for encoding in (marked, "cp1252", "latin-1"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(data, final=not partial)
            break
        except UnicodeDecodeError:
            continue
    if "\x00" in text:
        raise AssetmapError("not a text file (contains NUL bytes)", file=path)
    return text, encoding


def _arrow_csv(data: bytes, head: str, encoding: str, delimiter: str,
               header_row: int | None) -> pd.DataFrame | None:
    """The register as :func:`_csv_rows` and :func:`_table` read it, by Arrow's CSV reader
    (many times faster, text kept in Arrow memory): for UTF-8 files whose header is the first
    row and whose rows all have its number of cells. ``None`` for any other file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv

    if header_row not in (None, 1) or not encoding.startswith("utf-8") or b"\x00" in data:
        return None  # (Arrow checks the rest is UTF-8; NUL bytes are refused by the caller)
    top, _ = _grid(list(itertools.islice(
        csv.reader(io.StringIO(head, newline=""), delimiter=delimiter), _HEADER_SEARCH_ROWS)))
    if not top.size or not (top[0] != "").any() or (header_row is None and _find_header(top)):
        return None
    names = _unique_names(list(top[0]))
    try:
        table = pyarrow.csv.read_csv(
            pa.BufferReader(pa.py_buffer(data).slice(  # Arrow reads the bytes in place
                len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0)),
            read_options=pyarrow.csv.ReadOptions(skip_rows=1, column_names=names),
            parse_options=pyarrow.csv.ParseOptions(  # a line break in a cell is quoted
                delimiter=delimiter, newlines_in_values=b'"' in data, ignore_empty_lines=False),
            convert_options=pyarrow.csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),  # pandas' own
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # ragged rows, a quote left open ...
        return None
    columns = [pc.utf8_trim_whitespace(column) if _may_be_padded(column) else column
               for column in table.columns]
    del table
    end = _data_rows(columns)  # trailing blank rows are not data
    index = pd.RangeIndex(2, 2 + end, name="row")
    return pd.DataFrame({name: pd.array(column[:end], dtype=TEXT)
                         for name, column in zip(names, columns, strict=True)}, index=index)


def _may_be_padded(column) -> bool:
    """Whether a cell of an Arrow text column may start or end with whitespace: one whose
    first or last byte is not printable ASCII (read from the column's buffers)."""
    for chunk in column.chunks:
        offsets, chars = text_buffers(chunk)
        starts, ends = offsets[:-1], offsets[1:]
        filled = ends > starts
        first, last = chars[starts[filled]], chars[ends[filled] - 1]
        if ((first <= 0x20) | (first >= 0x7F) | (last <= 0x20) | (last >= 0x7F)).any():
            return True
    return False


def _data_rows(columns: list) -> int:
    """How many rows of Arrow text columns come before the trailing rows blank in all:
    looked for at the end, in a growing tail (a file rarely ends in many blank rows)."""
    rows = len(columns[0]) if columns else 0
    tail = min(rows, 1024)
    while tail:
        filled = np.flatnonzero(np.logical_or.reduce(
            [_lengths(column.slice(rows - tail)) > 0 for column in columns]))
        if len(filled) or tail == rows:
            return rows - tail + (filled[-1] + 1 if len(filled) else 0)
        tail = min(rows, 32 * tail)
    return 0


def _lengths(column) -> np.ndarray:
    """Each cell's length in bytes, from an Arrow text column's offsets."""
    return np.concatenate([np.diff(text_buffers(chunk)[0]) for chunk in column.chunks]
                          or [[]])


def text_buffers(chunk) -> tuple[np.ndarray, np.ndarray]:
    """An Arrow text array's cell offsets (one more than it has cells) and its bytes, as
    NumPy views of its buffers."""
    import pyarrow as pa

    _, offsets, data = chunk.buffers()
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    if offsets is None:  # no cells
        return np.zeros(len(chunk) + 1, dtype=width), np.zeros(0, np.uint8)
    offsets = np.frombuffer(offsets, dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1]
    chars = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offsets, chars


def _csv_rows(text: str, delimiter: str, path: Path) -> list[list[str]]:
    """Every row of the text, as Python's CSV reader splits it."""
    rows: list[list[str]] = []
    try:
        rows.extend(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        if str(exc) == "unexpected end of data":  # a quote left open swallows the rest
            raise AssetmapError("a quote opened in this row is never closed, so every row "
                                "below would be read into one cell: close or remove it",
                                file=path, row=len(rows) + 1) from None
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return rows


def _grid(rows: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Rows as a rectangle of stripped cells (short rows padded with ``""``), and the
    number of cells each row had."""
    widths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    width = int(widths.max(initial=0))
    if (widths != width).any():
        rows = [row + [""] * (width - len(row)) for row in rows]
    cells = np.empty((len(rows), width), dtype=object)
    if cells.size:
        cells[:] = rows
    return _STRIP(cells), widths


def _delimiter(text: str) -> str:
    """The delimiter splitting the first lines most consistently: the most lines with one
    number (above 1) of fields, then the most fields; a comma on a tie."""
    def consistency(delimiter: str) -> tuple[int, int]:
        lines = csv.reader(io.StringIO(text[:_HEAD_CHARS], newline=""), delimiter=delimiter)
        try:
            widths = Counter(len(row) for row in itertools.islice(lines, _DELIMITER_SEARCH_ROWS))
        except csv.Error:  # e.g. a quote left open to the end of the file
            return 0, 0
        return max(((n, width) for width, n in widths.items() if width > 1), default=(0, 0))

    return max(_DELIMITERS, key=consistency)


def _xlsx_rows(path: Path, sheet: str | None
               ) -> tuple[list[list[str]], list[tuple[int, int, int, int]]]:
    """Cells as text, and the merged ranges (``min_col, min_row, max_col, max_row``)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise AssetmapError(f"cannot read as an Excel workbook ({exc})", file=path) from None
    try:
        chosen = book[_choose(book.sheetnames, sheet, "sheet", path)]
        rows = [[_cell_text(v) for v in row] for row in chosen.iter_rows(values_only=True)]
        return rows, [cells.bounds for cells in chosen.merged_cells.ranges]
    finally:
        book.close()


def _choose(names: list[str], wanted: str | int | None, kind: str, path: Path) -> str:
    """The sheet or layer ``wanted`` names or numbers (from 1); the first if not given."""
    if not names:
        raise AssetmapError(f"the file holds no {kind}s", file=path)
    if wanted is None:
        return names[0]
    if wanted in names:
        return wanted
    if str(wanted).isdigit() and 1 <= int(wanted) <= len(names):
        return names[int(wanted) - 1]
    raise AssetmapError(f"no {kind} {wanted!r}; {kind}s are {', '.join(names)}", file=path)


def _fill_merged(cells: np.ndarray, merged: list[tuple[int, int, int, int]],
                 header: int) -> None:
    """Give every cell of a merged range below the header its top-left value."""
    for left, top, right, bottom in merged:
        if top - 1 > header:
            cells[top - 1:bottom, left - 1:right] = cells[top - 1, left - 1]


def _cell_text(value) -> str:
    """One workbook cell as text, by the rules of :func:`_column_text`."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return (value.date().isoformat() if value.time() == time()
                else value.isoformat(timespec="seconds"))
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _column_text(values: pd.Series) -> pd.Series:
    """A column as the text a person typed: whole-number floats without ``.0``, dates as
    ISO dates (with the time when not midnight), nulls as ``""``, spaces trimmed."""
    if values.dtype.kind == "f":
        whole = np.isfinite(values) & (values % 1 == 0) & (values.abs() < 2**53)
        text = values.astype(str).where(~whole, values.where(whole, 0).astype("int64").astype(str))
    elif values.dtype.kind == "M":
        text = values.dt.strftime("%Y-%m-%d").where(
            values.dt.normalize() == values, values.dt.strftime("%Y-%m-%dT%H:%M:%S"))
    else:
        text = values.astype(str).str.strip()
    return text.where(values.notna(), "")


def _read_ogr(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    try:
        layers = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:
        raise AssetmapError(f"cannot read as a register ({first_line(exc)})", file=path) from None
    if layer is None and len(layers) > 1:
        raise AssetmapError(f"has several layers ({', '.join(layers)}); choose one with --sheet",
                            file=path)
    chosen = _choose(layers, layer, "layer", path)
    try:
        frame = gpd.read_file(path, layer=chosen)
    except Exception as exc:
        raise AssetmapError(f"cannot read as a register ({first_line(exc)})", file=path) from None
    if frame.crs is None:
        raise AssetmapError("the file has no coordinate reference system (CRS)", file=path)
    frame = frame.to_crs(WORK_CRS)
    attributes = frame.drop(columns=frame.geometry.name)
    text = pd.DataFrame({column: _column_text(attributes[column]) for column in attributes},
                        index=attributes.index)
    text.index = pd.RangeIndex(1, len(frame) + 1, name="row")  # feature number
    return gpd.GeoDataFrame(text, geometry=frame.geometry.to_numpy(), crs=WORK_CRS)


def _find_header(rows: np.ndarray) -> int:
    """Index of the header row: the first that names the most roles.

    Title rows and blank rows above the header are passed over. Cells of one letter or
    digit do not count (a row of Y/N flags names no roles, though "Y" heads northings).
    With no recognisable header name, the first row with the most filled cells is taken.
    """
    role_of = {name: role for role, names in ROLE_NAMES.items() for name in names
               if len(name) > 1}
    head = rows[:_HEADER_SEARCH_ROWS]
    scores = [len({role_of.get(normalise_header(c)) for c in row} - {None}) for row in head]
    if max(scores) > 0:
        return scores.index(max(scores))
    filled = [sum(bool(c) for c in row) for row in head]
    return filled.index(max(filled))


def _table(cells: np.ndarray, widths: np.ndarray, header: int) -> pd.DataFrame:
    """The rows below the header (trailing blank rows dropped), as wide as the widest of
    them and the header."""
    names = _unique_names(list(cells[header, :widths[header]]))
    body = cells[header + 1:]
    filled = np.flatnonzero((body != "").any(axis=1))
    end = filled[-1] + 1 if len(filled) else 0
    width = int(widths[header:header + 1 + end].max())
    names += [f"column {i + 1}" for i in range(len(names), width)]
    body = body[:end, :width]
    index = pd.RangeIndex(header + 2, header + 2 + len(body), name="row")
    return pd.DataFrame({name: pd.array(body[:, i], dtype=TEXT) for i, name in enumerate(names)},
                        index=index)


def _unique_names(header: list[str]) -> list[str]:
    names: list[str] = []
    for i, cell in enumerate(header):
        name = cell or f"column {i + 1}"
        while name in names:
            name += "_2"
        names.append(name)
    return names


def _refuse_zip_bomb(path: Path) -> None:
    """A one-line error for a workbook whose parts expand past :data:`XLSX_MAX_BYTES`, or
    past :data:`XLSX_MAX_RATIO` times its size once above :data:`XLSX_RATIO_FROM_BYTES`:
    checked from the zip directory, before any part is decompressed."""
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise AssetmapError(f"cannot read as an Excel workbook ({first_line(exc)})",
                            file=path) from None
    ratio = expanded / max(path.stat().st_size, 1)
    if expanded > XLSX_MAX_BYTES or (expanded > XLSX_RATIO_FROM_BYTES
                                     and ratio > XLSX_MAX_RATIO):
        raise AssetmapError(
            f"the workbook expands to {expanded / 2**20:,.0f} MiB ({ratio:,.0f} times its "
            f"size), more than is read (at most {XLSX_MAX_BYTES / 2**20:,.0f} MiB, or "
            f"{XLSX_MAX_RATIO} times its size above {XLSX_RATIO_FROM_BYTES / 2**20:,.0f} "
            "MiB): save the sheet as CSV", file=path)


def parse_numbers(text: pd.Series, delimiter: str | None = None) -> np.ndarray:
    """Numbers as typed: commas are thousands separators, or decimal commas in a file
    delimited by semicolons (NaN where a cell is not a number). Parsed by Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = pa.array(text.astype(TEXT).array)
    try:  # most columns of numbers are clean: Arrow's cast takes them in one pass
        numbers = pc.cast(cells, pa.float64()).to_numpy(zero_copy_only=False)
        if np.isfinite(numbers).all():  # "inf" and "nan" are cast, not numbers as typed
            return numbers
    except pa.ArrowInvalid:  # a cell that is not a number: a blank one, or with a comma
        pass
    cells = pc.replace_substring(cells, ",", "." if delimiter == ";" else "")
    numeral = pc.if_else(pc.match_substring_regex(cells, f"^{NUMBER}$"), cells, None)
    return pc.cast(numeral, pa.float64()).to_numpy(zero_copy_only=False)


def as_text(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Python text (``None``: missing) as :data:`TEXT`, converted by Arrow in one pass."""
    import pyarrow as pa

    return pd.array(pa.array(values, type=pa.string(), from_pandas=True), dtype=TEXT)


def categorical(codes: np.ndarray, labels) -> pd.Categorical:
    """Text held once per distinct value, a small code per row: ``labels[codes]`` (``-1``:
    missing), ``labels`` distinct. As ``pd.Categorical(values)`` makes it: the categories
    are the values present, sorted."""
    codes = np.asarray(codes)
    labels = pd.Index(labels, dtype=TEXT)
    used = np.flatnonzero(np.bincount(codes + 1, minlength=len(labels) + 1)[1:])
    order = labels[used].argsort()
    new_code = np.full(len(labels) + 1, -1, dtype=np.int64)  # the last for missing (-1)
    new_code[used[order]] = np.arange(len(used))
    return pd.Categorical.from_codes(new_code[codes],
                                     dtype=pd.CategoricalDtype(labels[used[order]]))


def categorical_take(values, positions: np.ndarray) -> pd.Categorical:
    """``values[positions]`` (``-1``: missing, as is a missing value) as :func:`categorical`
    holds it: each distinct value once."""
    code, distinct = pd.factorize(np.asarray(values, dtype=object))
    return categorical(np.append(code, -1)[positions], distinct)


def filled_text(values: pd.Series, missing: str = "") -> pd.Series:
    """Cells as :data:`TEXT`, missing ones as ``missing`` (categorical cells too)."""
    return values.astype(TEXT).fillna(missing)


def uncategorised(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its categorical columns as :data:`TEXT` (to combine with others)."""
    return frame.astype({column: TEXT for column, dtype in frame.dtypes.items()
                         if isinstance(dtype, pd.CategoricalDtype)})


def stacked(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat`` of frames with a fresh index, columns that are categorical in every
    frame kept categorical (their labels united), not turned into Python objects."""
    frame = pd.concat(frames, ignore_index=True)
    for column in frame.columns:
        parts = [part[column] for part in frames if column in part.columns]
        if len(parts) == len(frames) > 1 and all(
                isinstance(part.dtype, pd.CategoricalDtype) for part in parts):
            frame[column] = union_categoricals(parts, sort_categories=True)
    return frame
