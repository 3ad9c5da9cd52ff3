"""An upload's size is bounded after unpacking too: a small, highly compressed workbook (or one
whose archive lies about its sizes) is refused before anything parses it, and a sheet's cell
count is checked before its cells become values. Files within the limits read as before."""

from __future__ import annotations

import io
import struct
import zipfile

import openpyxl
import pytest

from crm.importing import ImportFileError, read_table, reading


def workbook(rows: int, columns: int) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Last name", *(f"Column {c}" for c in range(1, columns))])
    for r in range(rows):
        sheet.append([f"Name {r}", *(f"v{r}.{c}" for c in range(1, columns))])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_part(data: bytes, name: str, content: bytes) -> bytes:
    """The workbook `data` with one more part in its archive, packed as tightly as zip can."""
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr(name, content)
    return buffer.getvalue()


def declaring(data: bytes, name: str, size: int) -> bytes:
    """`data` whose archive says part `name` unpacks to `size` bytes (in its local header
    and its central directory), whatever it really holds."""
    raw = bytearray(data)
    encoded = name.encode()
    for signature, size_at, name_length_at, name_at in ((b"PK\x03\x04", 22, 26, 30),
                                                       (b"PK\x01\x02", 24, 28, 46)):
        start = 0
        while (start := raw.find(signature, start)) >= 0:
            length = struct.unpack_from("<H", raw, start + name_length_at)[0]
            if raw[start + name_at:start + name_at + length] == encoded:
                struct.pack_into("<I", raw, start + size_at, size)
            start += 4
    return bytes(raw)


def test_a_workbook_that_unpacks_past_the_limit_is_refused_before_it_is_parsed(monkeypatch):
    monkeypatch.setattr(reading, "MAX_UNPACKED_BYTES", 8 * 1024 * 1024)
    bomb = with_part(workbook(3, 2), "xl/media/padding.bin", bytes(9 * 1024 * 1024))
    assert len(bomb) < 100_000  # small on the wire: the limit on uploads lets it through
    parsed = []
    monkeypatch.setattr(reading, "_read_workbook", lambda *a: parsed.append(a))
    with pytest.raises(ImportFileError, match="unpacks to more than 8 MB"):
        read_table(bomb, "bomb.xlsx")
    assert parsed == []


def test_an_archive_that_understates_its_sizes_is_refused_as_damaged(monkeypatch):
    monkeypatch.setattr(reading, "MAX_UNPACKED_BYTES", 8 * 1024 * 1024)
    lying = declaring(with_part(workbook(3, 2), "xl/media/padding.bin",
                                bytes(20 * 1024 * 1024)), "xl/media/padding.bin", 1000)
    parsed = []
    monkeypatch.setattr(reading, "_read_workbook", lambda *a: parsed.append(a))
    with pytest.raises(ImportFileError, match="damaged or incomplete"):
        read_table(lying, "lying.xlsx")
    assert parsed == []


def test_a_sheet_with_more_cells_than_the_limit_is_refused_naming_its_size(monkeypatch):
    monkeypatch.setattr(reading, "MAX_CELLS", 100)
    with pytest.raises(ImportFileError, match="holds 31 rows x 4 columns = 124 cells; at most "
                                              "100 can be imported"):
        read_table(workbook(30, 4), "wide.xlsx")
    csv = "\n".join(["Last name,a,b,c", *(f"n{r},1,2,3" for r in range(30))]).encode()
    with pytest.raises(ImportFileError, match="at most 100 can be imported"):
        read_table(csv, "wide.csv")


def test_files_within_the_limits_read_as_before(monkeypatch):
    monkeypatch.setattr(reading, "MAX_CELLS", 124)
    assert read_table(workbook(30, 4), "fits.xlsx").row_count == 30
    padded = with_part(workbook(3, 2), "xl/media/padding.bin", bytes(1024 * 1024))
    assert read_table(padded, "padded.xlsx").row_count == 3
