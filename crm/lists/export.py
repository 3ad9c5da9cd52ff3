"""The one export writer for leads, contacts and companies: `.xlsx` and `.csv`.

Callers hand over column declarations and an iterator of DataFrame chunks (a query read in
slices), never one big frame, so an export of every record a user may see runs in constant
memory. Each chunk is turned into an Arrow batch with vectorised operations, which is also where
formula-looking text is neutralised for CSV (an apostrophe in front); an .xlsx holds it as a
string cell, which a spreadsheet never runs, so there it stays as typed.

The workbook is written by rustpy-xlsxwriter (a binding of rust_xlsxwriter): it streams Arrow
record batches in constant-memory mode, about ten times faster than XlsxWriter. It needs the list
of sheets before it starts, while the number of sheets depends on how many rows the iterator
yields, so `write_xlsx` first spools the batches to a temporary Arrow file, counts them, then
streams them back sheet by sheet.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import rustpy_xlsxwriter as xlsx

XLSX_MAX_ROWS = 1_048_576  # per sheet including the header row
XLSX_MAX_CELL_CHARS = 32_767  # Excel refuses longer text in one cell
# Data rows per sheet; tests shrink it to check how large exports are split.
_rows_per_sheet = XLSX_MAX_ROWS - 1

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT_FORMAT = "0.0%"
CSV_DATE_FORMAT = "%Y-%m-%d"
CSV_DATETIME_FORMAT = "%Y-%m-%d %H:%M"
CSV_ENCODING_BOM = b"\xef\xbb\xbf"  # UTF-8 byte order mark: Excel then reads the file as UTF-8

# Every character Python's str.isspace() accepts. Literal characters, so the same class works in
# Python's `re` and in Arrow's RE2.
_SPACE = (
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# A cell is run as a formula when it starts with one of these, also after leading whitespace
# (OWASP "CSV injection"); a leading tab or carriage return is itself enough.
_FORMULA_START = f"^([{_SPACE}]*[=+\\-@\t\r])"
_FORMULA_RE = re.compile(_FORMULA_START)

_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_NAME_MAX = 31


@dataclass(frozen=True)
class ExportColumn:
    """One exported column: where its values come from and how a reader sees them."""

    key: str  # column name in the incoming frames
    header: str  # readable header, e.g. "Date added"
    kind: str = "text"  # "text" | "date" | "datetime" | "bool" | "int" | "percent" (a ratio)
    width: float = 18  # column width in characters

    def __post_init__(self) -> None:
        if self.kind not in _ARROW_TYPES:
            raise ValueError(
                f"unknown export column kind {self.kind!r} for {self.key!r}; "
                f"use one of {', '.join(_ARROW_TYPES)}"
            )


def neutralise(value: str) -> str:
    """Prefix an apostrophe to text a spreadsheet would otherwise run as a formula."""
    return f"'{value}" if _FORMULA_RE.match(value) else value


def write_xlsx(
    target: str | os.PathLike[str] | BinaryIO,
    columns: Sequence[ExportColumn],
    chunks: Iterable[pd.DataFrame],
    *,
    sheet_name: str = "Export",
) -> int:
    """Write every chunk's rows into an .xlsx at `target` (a path or a binary file object).

    Rows beyond one sheet continue on "Export (2)", "Export (3)", ..., each with its own bold,
    frozen, filterable header. Returns the number of data rows written. Excel has no dates
    before 1900, so such a date leaves its cell empty; text is cut at Excel's 32,767 characters.
    """
    with tempfile.TemporaryDirectory(prefix="crm-export-") as folder:
        spool_path = os.path.join(folder, "rows.arrow")
        schema = _schema(columns, dates_as_text=False)
        sizes = _spool(spool_path, schema, columns, chunks)
        total = sum(sizes)
        sheet_count = max(1, math.ceil(total / _rows_per_sheet))
        names = _sheet_names(sheet_name, sheet_count)
        with pa.OSFile(spool_path, "rb") as source:
            spooled = pa.ipc.open_file(source)
            sheets = [
                (name, pa.RecordBatchReader.from_batches(schema, _sheet_rows(spooled, sizes, n)))
                for n, name in enumerate(names)
            ]
            xlsx.write_worksheets(
                sheets,
                target,
                freeze_panes={"general": {"row": 1, "col": 0}},
                bold_headers=True,
                autofilter={"general": True},
                column_widths={"general": [float(column.width) for column in columns]},
                column_formats={"general": [_number_format(column) for column in columns]},
            )
    return total


def write_csv(
    target: str | os.PathLike[str] | BinaryIO,
    columns: Sequence[ExportColumn],
    chunks: Iterable[pd.DataFrame],
) -> int:
    """UTF-8 with BOM, comma separated, header row; same neutralisation. Returns the row count.

    Dates are ISO text (`YYYY-MM-DD`, `YYYY-MM-DD HH:MM`) and booleans "Yes"/"No", so the file
    reads the same in a spreadsheet as the .xlsx does.
    """
    schema = _schema(columns, dates_as_text=True)
    if not isinstance(target, str | os.PathLike):
        return _write_csv_rows(target, schema, columns, chunks)
    try:
        with open(target, "wb") as sink:
            return _write_csv_rows(sink, schema, columns, chunks)
    except BaseException:
        Path(target).unlink(missing_ok=True)  # no half-written export left behind
        raise


# --- turning a chunk into an Arrow batch ---------------------------------------------------


def _text(values: pd.Series, *, guard: bool = True) -> pa.Array:
    text = pa.array(values.astype("str"), type=pa.large_string(), from_pandas=True)
    if not guard:
        return text
    return pc.replace_substring_regex(
        text, pattern=_FORMULA_START, replacement="'\\1", max_replacements=1
    )


def _yes_no(values: pd.Series) -> pa.Array:
    return pa.array(
        values.map({True: "Yes", False: "No"}), type=pa.large_string(), from_pandas=True
    )


def _whole_number(values: pd.Series) -> pa.Array:
    numbers = pa.array(pd.to_numeric(values, errors="coerce"), from_pandas=True)
    if pa.types.is_floating(numbers.type):
        numbers = pc.round(numbers)
    return pc.cast(numbers, pa.int64(), safe=False)


def _ratio(values: pd.Series) -> pa.Array:
    return pa.array(pd.to_numeric(values, errors="coerce"), type=pa.float64(), from_pandas=True)


def _stamps(values: pd.Series) -> pd.Series:
    """Naive timestamps; aware ones keep the wall-clock time of their own time zone."""
    try:
        stamps = pd.to_datetime(values, errors="coerce", format="ISO8601")
    except (TypeError, ValueError):  # mixed UTC offsets in one column
        stamps = pd.to_datetime(values, errors="coerce", format="ISO8601", utc=True)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_localize(None)
    return stamps


def _datetime(values: pd.Series) -> pa.Array:
    return pc.cast(pa.array(_stamps(values), from_pandas=True), pa.timestamp("us"), safe=False)


def _date(values: pd.Series) -> pa.Array:
    return pc.cast(_datetime(values), pa.date32())


_ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.large_string(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
    "bool": pa.large_string(),
    "int": pa.int64(),
    "percent": pa.float64(),
}
_CONVERTERS: dict[str, Callable[[pd.Series], pa.Array]] = {
    "text": _text,
    "date": _date,
    "datetime": _datetime,
    "bool": _yes_no,
    "int": _whole_number,
    "percent": _ratio,
}
_CSV_DATE_TEXT = {"date": CSV_DATE_FORMAT, "datetime": CSV_DATETIME_FORMAT}


def _schema(columns: Sequence[ExportColumn], *, dates_as_text: bool) -> pa.Schema:
    def arrow_type(column: ExportColumn) -> pa.DataType:
        if dates_as_text and column.kind in _CSV_DATE_TEXT:
            return pa.large_string()
        return _ARROW_TYPES[column.kind]

    return pa.schema([pa.field(column.header, arrow_type(column)) for column in columns])


def _batch(
    schema: pa.Schema,
    columns: Sequence[ExportColumn],
    frame: pd.DataFrame,
    *,
    for_xlsx: bool,
) -> pa.RecordBatch:
    missing = [column.key for column in columns if column.key not in frame.columns]
    if missing:
        raise KeyError(f"export chunk lacks column(s): {', '.join(missing)}")
    arrays = []
    for column in columns:
        # An .xlsx string cell is text to Excel whatever it starts with (the package holds no
        # formula, which tests check), so it keeps the value as typed ("+49 30 …" imports back
        # as it was); a CSV cell has no type, so there the guard's apostrophe stays.
        array = (_text(frame[column.key], guard=False) if for_xlsx and column.kind == "text"
                 else _CONVERTERS[column.kind](frame[column.key]))
        if for_xlsx and pa.types.is_large_string(array.type):
            array = pc.utf8_slice_codeunits(array, 0, XLSX_MAX_CELL_CHARS)
        elif not for_xlsx and column.kind in _CSV_DATE_TEXT:
            array = pc.strftime(array, format=_CSV_DATE_TEXT[column.kind]).cast(pa.large_string())
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# --- xlsx: spool, then stream sheet by sheet -------------------------------------------------


def _spool(
    path: str,
    schema: pa.Schema,
    columns: Sequence[ExportColumn],
    chunks: Iterable[pd.DataFrame],
) -> list[int]:
    """Write the converted chunks to an Arrow file; return the row count of each batch."""
    sizes: list[int] = []
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for frame in chunks:
            if len(frame) == 0:
                continue
            batch = _batch(schema, columns, frame, for_xlsx=True)
            writer.write_batch(batch)
            sizes.append(batch.num_rows)
    return sizes


def _sheet_rows(
    spooled: pa.ipc.RecordBatchFileReader, sizes: list[int], sheet: int
) -> Iterator[pa.RecordBatch]:
    """The spooled rows that belong on the sheet numbered `sheet` (from 0), batch by batch."""
    start, stop = sheet * _rows_per_sheet, (sheet + 1) * _rows_per_sheet
    offset = 0
    for index, size in enumerate(sizes):
        first, last = max(start, offset), min(stop, offset + size)
        if first < last:
            yield spooled.get_batch(index).slice(first - offset, last - first)
        offset += size
        if offset >= stop:
            break


def _sheet_names(base: str, count: int) -> list[str]:
    base = _SHEET_NAME_FORBIDDEN.sub("_", base).strip("'") or "Export"
    names = []
    for number in range(1, count + 1):
        suffix = "" if number == 1 else f" ({number})"
        names.append(base[: _SHEET_NAME_MAX - len(suffix)] + suffix)
    return names


def _number_format(column: ExportColumn) -> xlsx.Format | None:
    if column.kind == "date":
        return xlsx.Format().set_num_format(DATE_FORMAT)
    if column.kind == "datetime":
        return xlsx.Format().set_num_format(DATETIME_FORMAT)
    if column.kind == "percent":
        return xlsx.Format().set_num_format(PERCENT_FORMAT)
    return None


# --- csv --------------------------------------------------------------------------------------


def _write_csv_rows(
    sink: BinaryIO,
    schema: pa.Schema,
    columns: Sequence[ExportColumn],
    chunks: Iterable[pd.DataFrame],
) -> int:
    sink.write(CSV_ENCODING_BOM)
    total = 0
    writer = pa_csv.CSVWriter(sink, schema)
    try:
        for frame in chunks:
            if len(frame) == 0:
                continue
            batch = _batch(schema, columns, frame, for_xlsx=False)
            writer.write_batch(batch)
            total += batch.num_rows
    finally:
        writer.close()
    return total
