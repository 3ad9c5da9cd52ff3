"""Reading an uploaded spreadsheet into text cells, whatever Excel or a hand-made CSV did to it.

Every cell becomes text (no type guessing): a phone number Excel stored as the number
4930123456.0 reads "4930123456", a date cell reads "2024-03-01", so the import rules decide
what a value means, not the reader. The file's content decides how it is read, not its name:
a `.xlsx` that is really CSV, and the reverse, both read.

What a sheet's layout does to cells is undone or reported, never silently lost: a merged
range counts as its value in every cell it covers (a company name merged over the rows of its
people belongs to each of them), and a formula whose result the file does not hold (a
workbook written by a program and never saved by Excel) is named by cell, since its value
cannot be known without a spreadsheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import zipfile
import zlib
from dataclasses import dataclass, field

import pandas as pd
from defusedxml import ElementTree

from crm.common.errors import Refusal
from crm.importing.fields import recognised_header_count

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 1_048_576  # what one Excel sheet holds, header included
# A 50 MB upload can unpack to far more: a workbook's parts are counted while unpacking (what
# the archive declares may lie) and a sheet's cells before they become Python values.
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
MAX_CELLS = 10 * MAX_ROWS  # rows x columns: a full sheet of ten columns
HEADER_SEARCH_ROWS = 30

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_DELIMITERS = (",", ";", "\t")


class ImportFileError(Refusal):
    """The file cannot be used at all; the message names the problem for the user."""


@dataclass
class RawTable:
    """One sheet as text: `frame` holds the data rows below the header row, every cell a str.

    `row_numbers[i]` is the row of `frame.iloc[i]` as the spreadsheet shows it, so problems
    can point at it. Wholly blank rows are left out (their numbers are skipped).
    """

    file_name: str
    sheet: str | None
    sheets: list[str]
    hidden_sheets: list[str]
    header_row: int
    headers: list[str]
    frame: pd.DataFrame
    row_numbers: list[int]
    # Cells per column that the file stored as numbers (phones that lost their formatting).
    numeric_cells: dict[str, int] = field(default_factory=dict)
    kind: str = "xlsx"  # "xlsx" | "csv"
    notes: list[str] = field(default_factory=list)
    column_positions: list[int] = field(default_factory=list)  # sheet column (from 0) per header
    # (spreadsheet row, header) of formula cells whose result the file does not hold.
    unsaved_formulas: list[tuple[int, str]] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return len(self.frame)


def read_table(data: bytes, file_name: str, sheet: str | None = None) -> RawTable:
    """Read `data` (the uploaded bytes) as a table; raises ImportFileError when unusable."""
    if not data:
        raise ImportFileError(f"{file_name} is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(
            f"{file_name} is {len(data) / 1024 / 1024:.1f} MB; files up to "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB can be imported. Split it into smaller files.")
    if data.startswith(_OLE2):
        if _ENCRYPTED in data[:200_000] or _ENCRYPTED in data:
            raise ImportFileError(f"{file_name} is protected with a password. Open it in Excel, "
                                  "remove the password (File > Info > Protect Workbook) and "
                                  "save it again.")
        return _read_workbook(data, file_name, sheet)
    if data.startswith(_ZIP):
        _check_unpacked_size(data, file_name)
        return _read_workbook(data, file_name, sheet)
    if _looks_binary(data):
        raise ImportFileError(f"{file_name} is neither an Excel workbook (.xlsx) nor a text "
                              "(CSV) file. Save it from Excel as .xlsx or .csv.")
    return _read_csv(data, file_name)


# ------------------------------------------------------------------------- workbooks


def _read_workbook(data: bytes, file_name: str, sheet: str | None) -> RawTable:
    import python_calamine as calamine

    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except calamine.PasswordError as exc:
        raise ImportFileError(f"{file_name} is protected with a password; remove the password "
                              "in Excel and save it again.") from exc
    except Exception as exc:  # calamine raises several unrelated types for damaged files
        raise ImportFileError(f"{file_name} is damaged or incomplete and cannot be read as an "
                              "Excel workbook (was the upload cut short?). Open it in Excel "
                              "and save it again.") from exc
    try:
        metadata = [m for m in book.sheets_metadata if m.typ == calamine.SheetTypeEnum.WorkSheet]
        names = [m.name for m in metadata]
        hidden = [m.name for m in metadata if m.visible != calamine.SheetVisibleEnum.Visible]
        if not names:
            raise ImportFileError(f"{file_name} has no worksheets.")
        chosen = None
        if sheet is None:
            sheet, chosen = _data_sheet(book, [n for n in names if n not in hidden] or names[:1])
        elif sheet not in names:
            raise ImportFileError(f"{file_name} has no sheet named “{sheet}”; its sheets are "
                                  + ", ".join(f"“{n}”" for n in names) + ".")
        try:
            found = chosen or book.get_sheet_by_name(sheet)
            _check_cells(found.height, found.width, f"The sheet “{sheet}” of {file_name}")
            cells = found.to_python(skip_empty_area=False)
            merged = found.merged_cell_ranges or []
        except ImportFileError:
            raise
        except Exception as exc:
            raise ImportFileError(f"The sheet “{sheet}” of {file_name} is damaged and cannot "
                                  "be read. Open the file in Excel and save it again.") from exc
    finally:
        book.close()
    if len(cells) > MAX_ROWS:
        raise ImportFileError(f"The sheet “{sheet}” has {len(cells):,} rows; at most "
                              f"{MAX_ROWS:,} can be imported at once.")
    notes = _fill_merged(cells, merged)
    formulas = _unsaved_formula_cells(data, sheet) if data.startswith(_ZIP) else []
    table = _table(cells, file_name, f"The sheet “{sheet}” of {file_name}", _cell_text)
    table.sheet, table.sheets, table.hidden_sheets, table.kind = sheet, names, hidden, "xlsx"
    table.notes = notes
    table.unsaved_formulas = _formula_problems(table, formulas)
    return table


def _data_sheet(book, visible: list[str]) -> tuple[str, object | None]:
    """The sheet that holds the table (and, when it was read to decide, the sheet read): the
    one whose header row names the most known columns, so a cover page, a notes sheet or a
    pivot before the data is passed over; the first visible sheet when none names two."""
    if len(visible) == 1:
        return visible[0], None
    best, best_sheet, best_score = visible[0], None, (1, 0)
    for name in visible[:20]:
        try:
            found = book.get_sheet_by_name(name)
            top = found.to_python(skip_empty_area=False, nrows=HEADER_SEARCH_ROWS)
        except Exception:  # noqa: S112  (a damaged sheet is not the table; named if chosen)
            continue
        recognised = max((recognised_header_count([str(v) for v in row if _filled(v)])
                          for row in top), default=0)
        if (recognised, found.height) > best_score:
            best, best_sheet, best_score = name, found, (recognised, found.height)
    return best, best_sheet


def _check_unpacked_size(data: bytes, file_name: str) -> None:
    """Unpack every part of the archive, counting, without keeping it: past
    MAX_UNPACKED_BYTES (declared or real) the file is refused before anything parses it. An
    archive whose parts unpack to other sizes than it declares fails its checksum here."""
    too_big = ImportFileError(
        f"{file_name} unpacks to more than {MAX_UNPACKED_BYTES // 1024 // 1024:,} MB of "
        "spreadsheet data, more than can be imported at once. Split it into smaller files.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
            if sum(part.file_size for part in parts) > MAX_UNPACKED_BYTES:
                raise too_big
            unpacked = 0
            for part in parts:
                with archive.open(part) as stream:
                    while chunk := stream.read(1 << 22):
                        unpacked += len(chunk)
                        if unpacked > MAX_UNPACKED_BYTES:
                            raise too_big
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError) as exc:
        raise ImportFileError(f"{file_name} is damaged or incomplete and cannot be read as an "
                              "Excel workbook (was the upload cut short?). Open it in Excel "
                              "and save it again.") from exc


def _check_cells(rows: int, columns: int, where: str) -> None:
    if rows * columns > MAX_CELLS:
        raise ImportFileError(
            f"{where} holds {rows:,} rows x {columns:,} columns = {rows * columns:,} cells; at "
            f"most {MAX_CELLS:,} can be imported at once. Delete unused columns or split the "
            "file.")


def _fill_merged(cells: list[list], merged: list) -> list[str]:
    """Give every cell of a merged range the range's (top-left) value, as Excel's "unmerge
    and fill" would; returns a note per range that held a value."""
    notes = []
    for (top, left), (bottom, right) in merged:
        if top >= len(cells) or left >= len(cells[top]):
            continue
        value = cells[top][left]
        if not _filled(value):
            continue
        for r in range(top, min(bottom, len(cells) - 1) + 1):
            row = cells[r]
            if len(row) <= right:
                row.extend([""] * (right + 1 - len(row)))
            for c in range(left, right + 1):
                row[c] = value
        notes.append(f"Cells {_cell_name(top, left)}:{_cell_name(bottom, right)} are merged; "
                     f"each of them was read as “{_cell_text(value)}”.")
    if len(notes) > 5:
        notes = [*notes[:5], f"… and {len(notes) - 5:,} more merged ranges, read the same way."]
    return notes


def _cell_name(row: int, column: int) -> str:
    """(0, 0) -> "A1"."""
    letters = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"


_SHEET_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
             "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}


def _unsaved_formula_cells(data: bytes, sheet: str) -> list[tuple[int, int]]:
    """(row, column), both from 0, of the sheet's formula cells that hold no saved result.

    calamine reads a formula's saved result; a cell without one reads as blank, which would
    silently drop its value. Only the sheet's XML can tell the two apart.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            part = _sheet_part(archive, sheet)
            if part is None or not _mentions_formulas(archive, part):
                return []
            xml = archive.read(part)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError):
        return []
    found = []
    for match in re.finditer(rb'<c r="([A-Z]+)([0-9]+)"([^>]*?)(/>|>(.*?)</c>)', xml, re.DOTALL):
        body = match.group(5) or b""
        if b"<f" not in body:
            continue
        value = re.search(rb"<v>(.*?)</v>", body, re.DOTALL)
        inline = re.search(rb"<is>(.*?)</is>", body, re.DOTALL)
        if (value and value.group(1).strip()) or inline:
            continue
        letters, row = match.group(1).decode(), int(match.group(2))
        column = 0
        for letter in letters:
            column = column * 26 + ord(letter) - 64
        found.append((row - 1, column - 1))
    return found


def _mentions_formulas(archive: zipfile.ZipFile, part: str) -> bool:
    """Whether the sheet's XML has a formula tag at all, read in chunks (most sheets have
    none, and their XML can be hundreds of megabytes)."""
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(1 << 20):
            if b"<f" in tail + chunk[:1] or b"<f" in chunk:
                return True
            tail = chunk[-1:]
    return False


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels}
    for node in book.iter(f"{{{_SHEET_NS['m']}}}sheet"):
        if node.get("name") == sheet:
            target = targets.get(node.get(f"{{{_SHEET_NS['r']}}}id"), "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _formula_problems(table: RawTable, cells: list[tuple[int, int]]) -> list[tuple[int, str]]:
    """The unsaved formula cells that fall in the table's data rows and columns."""
    if not cells:
        return []
    rows = set(table.row_numbers)
    by_position = dict(enumerate(table.column_positions))
    headers = {position: table.headers[i] for i, position in by_position.items()}
    return sorted((row + 1, headers[column]) for row, column in cells
                  if row + 1 in rows and column in headers)


def _cell_text(value: object) -> str:
    """A cell as text: whole floats without ".0", dates in ISO form, booleans as TRUE/FALSE."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.time() != dt.time() else "%Y-%m-%d")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if value is None:
        return ""
    return str(value).strip()


# ------------------------------------------------------------------------------ CSV


def _looks_binary(data: bytes) -> bool:
    sample = data[:4096]
    return b"\x00" in sample and not sample.startswith((b"\xff\xfe", b"\xfe\xff")) \
        and _utf16_without_bom(data) is None


def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" for text written so without a byte order mark (every other
    byte NUL, as some exporters write "Unicode text"), else None."""
    sample = data[:4096 - len(data[:4096]) % 2]
    if len(sample) < 4:
        return None
    odd, even = sample[1::2], sample[0::2]
    if odd.count(0) >= len(odd) * 0.9 and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= len(even) * 0.9 and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _eight_bit(data: bytes) -> str:
    """Windows-1252 (Excel's "CSV") or Mac Roman (Excel for Mac's "CSV (Macintosh)"),
    whichever reads the bytes above 127 as more letters of European words: "Müller" saved
    by a Mac is "M\x9fller", which Windows-1252 would show as "MŸller"."""
    high = bytes(b for b in data if b > 127)
    if not high:
        return data.decode("cp1252", errors="replace")

    def letters(encoding: str) -> int:
        text = high.decode(encoding, errors="replace")
        return sum(1 if "\u00c0" <= c <= "\u00ff" and c.isalpha() else -1 for c in text)

    best = "mac_roman" if letters("mac_roman") > letters("cp1252") else "cp1252"
    return data.decode(best, errors="replace")


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 (with or without BOM), else Windows-1252 or Mac
    Roman (see `_eight_bit`)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if (utf16 := _utf16_without_bom(data)) is not None:
        return data.decode(utf16, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _eight_bit(data)


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the most records into the same, largest number of fields.
    Records are read as CSV reads them (a quoted field may hold line breaks and other
    delimiters: an address over four lines is one field of one record)."""
    best, best_score = ",", (-1, -1)
    for delimiter in _DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        try:
            counts = [len(r) for r in itertools.islice(reader, HEADER_SEARCH_ROWS + 20) if r]
        except csv.Error:
            continue
        if not counts:
            continue
        widest = max(counts)
        score = (sum(1 for c in counts if c == widest and c > 1), widest)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(data: bytes, file_name: str) -> RawTable:
    text = decode_text(data)
    delimiter = sniff_delimiter(text[:262_144])
    rows, cells = [], 0
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        rows.append(row)
        cells += len(row)
        if cells > MAX_CELLS:
            _check_cells(len(rows), max(map(len, rows)), file_name)
    if len(rows) > MAX_ROWS:
        raise ImportFileError(f"{file_name} has {len(rows):,} rows; at most {MAX_ROWS:,} can "
                              "be imported at once.")
    table = _table(rows, file_name, file_name, str.strip)
    table.kind = "csv"
    return table


# --------------------------------------------------------------------- the header row


def _table(cells: list[list], file_name: str, where: str, to_text) -> RawTable:
    if not cells or not any(any(_filled(v) for v in row) for row in cells):
        raise ImportFileError(f"{where} is empty.")
    header_index = find_header_row(cells)
    body = cells[header_index + 1:]
    width = max(len(row) for row in cells[header_index:header_index + 1] + body)
    raw = [to_text(v) for v in cells[header_index]] + [""] * width
    keep = [i for i in range(width) if raw[i] or any(
        i < len(row) and _filled(row[i]) for row in body)]
    headers = _unique_headers([raw[i] or f"Column {i + 1}" for i in keep])
    # `any(row)` is the fast test (blank cells are "" or None); whitespace-only rows are rare.
    numbers = [n for n, row in enumerate(body, start=header_index + 2)
               if any(row) and any(_filled(v) for v in row)]
    if not numbers:
        raise ImportFileError(f"{where} has a header row (row {header_index + 1}) but no data "
                              "rows below it.")
    data_rows = [body[n - header_index - 2] for n in numbers]
    if any(len(row) < width for row in data_rows):
        data_rows = [list(row) + [""] * (width - len(row)) for row in data_rows]
    by_position = list(zip(*data_rows, strict=False))
    columns: dict[str, list[str]] = {}
    numeric: dict[str, int] = {}
    for position, header in zip(keep, headers, strict=True):
        values = by_position[position]
        if to_text is _cell_text:
            count = sum(1 for v in values if type(v) is float or type(v) is int)
            if count:
                numeric[header] = count
            columns[header] = [v.strip() if type(v) is str else _cell_text(v) for v in values]
        else:
            columns[header] = [v.strip() for v in values]
    frame = pd.DataFrame(columns, dtype=object)
    return RawTable(file_name=file_name, sheet=None, sheets=[], hidden_sheets=[],
                    header_row=header_index + 1, headers=headers, frame=frame,
                    row_numbers=numbers, numeric_cells=numeric, column_positions=keep)


def _filled(value: object) -> bool:
    return value is not None and str(value).strip() != ""


def find_header_row(cells: list[list]) -> int:
    """The first row that names columns: most recognised column names, else the first row
    about as wide as the widest (title rows above a table fill one cell)."""
    top = cells[:HEADER_SEARCH_ROWS]
    filled = [sum(1 for v in row if _filled(v)) for row in top]
    recognised = [recognised_header_count([str(v) for v in row if _filled(v)]) if n else 0
                  for row, n in zip(top, filled, strict=True)]
    if max(recognised) >= 2:
        return recognised.index(max(recognised))
    widest = max(filled)
    return next(i for i, n in enumerate(filled) if n >= max(1, (widest + 1) // 2))


def _unique_headers(headers: list[str]) -> list[str]:
    """Repeated headers get " (2)", " (3)", ... so every column keeps its own name."""
    seen: dict[str, int] = {}
    result = []
    for header in headers:
        if header in seen:
            seen[header] += 1
            header = f"{header} ({seen[header]})"
        else:
            seen[header] = 1
        result.append(header)
    return result
