"""Spreadsheets for the import tests, and what the importer makes of them.

Not a test module: the import, page and browser tests share these instead of importing one
another.
"""

from __future__ import annotations

import io

import openpyxl

from crm import importing
from crm.importing import read_table

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx(rows: list[list], title: str = "Sheet1", hidden: bool = False) -> bytes:
    """A workbook whose one visible sheet, `title`, holds `rows`; `hidden` adds a hidden
    sheet "Secret"."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    if hidden:
        book.create_sheet("Secret").sheet_state = "hidden"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def preview_of(user, db, entity, rows, options=None, mapping=None):
    """The importer's preview of `rows` (headers first), with the mapping it guesses unless
    `mapping` is given."""
    table = read_table(xlsx(rows), "people.xlsx")
    mapping = mapping or importing.guess_mapping(entity, table.headers, table.frame)
    return importing.validate(user, db, entity, table, mapping, options)


def messages(preview) -> list[tuple[int | None, str, str]]:
    """The preview's problems as (row, column, message)."""
    return [(p.row, p.column, p.message) for p in preview.problems]
