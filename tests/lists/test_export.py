"""The export writer: what a person opening the downloaded file sees. No database needed."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape
from openpyxl.worksheet.worksheet import Worksheet

from crm.lists import export
from crm.lists.export import ExportColumn, neutralise, write_csv, write_xlsx

COLUMNS = [
    ExportColumn("name", "Name", width=24),
    ExportColumn("vip", "VIP", kind="bool", width=6),
    ExportColumn("visits", "Visits", kind="int", width=8),
    ExportColumn("born", "Birthday", kind="date", width=12),
    ExportColumn("created_at", "Date added", kind="datetime", width=17),
]
HEADERS = ["Name", "VIP", "Visits", "Birthday", "Date added"]

FORMULAS = ['=HYPERLINK("x")', "+1", "-2", "@SUM(A1)", "\t=1", " =1", "\r=1", "\u00a0=1", "\t"]
HARMLESS = ["plain", "", "a=b", "  text", "1-2", "'=already quoted", "Anne-Marie", "x@y.org"]


def leads_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["Anna Berg", "=1+1", None, "Chloé Dupont"],
            "vip": [True, False, None, np.nan],
            "visits": pd.array([3, None, 0, 12], dtype="Int64"),
            "born": [dt.date(1990, 5, 17), None, dt.date(2001, 1, 2), pd.NaT],
            "created_at": pd.to_datetime(
                ["2024-03-01 09:15", "2024-03-02 17:45:30", None, "2025-12-31 23:59"],
                format="ISO8601",
            ),
        }
    )


def rows_frame(start: int, count: int) -> pd.DataFrame:
    numbers = range(start, start + count)
    return pd.DataFrame(
        {
            "name": [f"Lead {n}" for n in numbers],
            "vip": [n % 2 == 0 for n in numbers],
            "visits": list(numbers),
            "born": [dt.date(2000, 1, 1)] * count,
            "created_at": [dt.datetime(2024, 1, 1, 8, 30)] * count,
        }
    )


def xlsx_bytes(chunks, columns=COLUMNS, **kwargs) -> tuple[bytes, int]:
    buffer = io.BytesIO()
    count = write_xlsx(buffer, columns, chunks, **kwargs)
    return buffer.getvalue(), count


def open_sheets(data: bytes) -> list[Worksheet]:
    return list(load_workbook(io.BytesIO(data)).worksheets)


def values(sheet: Worksheet) -> list[list]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def text_column(texts: list[str]) -> tuple[list[ExportColumn], list[pd.DataFrame]]:
    return [ExportColumn("text", "Text")], [pd.DataFrame({"text": texts})]


# --- the spreadsheet a user downloads -------------------------------------------------------


def test_the_header_row_is_readable_bold_frozen_and_filterable():
    data, _ = xlsx_bytes([leads_frame()])
    (sheet,) = open_sheets(data)
    header = next(sheet.iter_rows(max_row=1))
    assert [cell.value for cell in header] == HEADERS
    assert all(cell.font.b for cell in header)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:E5"


def test_columns_have_the_declared_widths():
    data, _ = xlsx_bytes([leads_frame()])
    (sheet,) = open_sheets(data)
    for letter, column in zip("ABCDE", COLUMNS, strict=True):
        # Excel stores a width with its cell padding (about 0.71 of a character) added.
        assert sheet.column_dimensions[letter].width == pytest.approx(column.width + 0.71, abs=0.01)


def test_values_arrive_as_a_reader_expects_them():
    data, count = xlsx_bytes([leads_frame()])
    (sheet,) = open_sheets(data)
    assert count == 4
    assert values(sheet)[1:] == [
        ["Anna Berg", "Yes", 3, dt.datetime(1990, 5, 17), dt.datetime(2024, 3, 1, 9, 15)],
        ["=1+1", "No", None, None, dt.datetime(2024, 3, 2, 17, 45, 30)],
        [None, None, 0, dt.datetime(2001, 1, 2), None],
        ["Chloé Dupont", None, 12, None, dt.datetime(2025, 12, 31, 23, 59)],
    ]


def test_dates_are_real_date_cells_with_a_date_format():
    data, _ = xlsx_bytes([leads_frame()])
    (sheet,) = open_sheets(data)
    birthday, added = sheet["D2"], sheet["E2"]
    assert birthday.is_date and birthday.number_format == "yyyy-mm-dd"
    assert added.is_date and added.number_format == "yyyy-mm-dd hh:mm"


def test_whole_numbers_are_numbers_and_booleans_read_yes_or_no():
    data, _ = xlsx_bytes([leads_frame()])
    (sheet,) = open_sheets(data)
    assert sheet["C2"].data_type == "n" and sheet["C2"].value == 3
    assert [sheet["B2"].value, sheet["B3"].value] == ["Yes", "No"]


def test_missing_values_are_empty_cells():
    frame = pd.DataFrame(
        {
            "name": ["a", "b", "c"],
            "vip": [None, np.nan, pd.NA],
            "visits": [None, np.nan, pd.NA],
            "born": [None, pd.NaT, np.nan],
            "created_at": [pd.NaT, None, np.nan],
        }
    )
    data, count = xlsx_bytes([frame])
    (sheet,) = open_sheets(data)
    assert count == 3
    assert values(sheet)[1:] == [[name, None, None, None, None] for name in "abc"]
    assert sheet.auto_filter.ref == "A1:E4"


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_looking_cell_is_a_string_cell_holding_the_text_as_typed(text):
    """A string cell is never run (the next test: no formula in the package), so no guard is
    needed and "+49 30 …" exports and imports back as typed."""
    columns, chunks = text_column([text])
    data, _ = xlsx_bytes(chunks, columns)
    (sheet,) = open_sheets(data)
    cell = sheet["A2"]
    assert cell.data_type == "s"
    # The package escapes a carriage return as _x000D_, which Excel reads back as one.
    assert unescape(cell.value) == text


def test_no_exported_cell_is_a_formula():
    columns, chunks = text_column(FORMULAS + HARMLESS)
    data, _ = xlsx_bytes(chunks, columns)
    (sheet,) = open_sheets(data)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert b"<f>" not in data  # nothing in the package is a formula either


@pytest.mark.parametrize("text", HARMLESS)
def test_ordinary_text_is_left_alone(text):
    columns, chunks = text_column([text])
    data, _ = xlsx_bytes(chunks, columns)
    (sheet,) = open_sheets(data)
    assert (sheet["A2"].value or "") == text


def test_text_longer_than_a_cell_holds_is_cut_to_the_excel_limit():
    columns, chunks = text_column(["x" * 40_000])
    data, _ = xlsx_bytes(chunks, columns)
    (sheet,) = open_sheets(data)
    assert sheet["A2"].value == "x" * export.XLSX_MAX_CELL_CHARS


def test_time_zone_aware_stamps_keep_their_wall_clock_time():
    columns = [ExportColumn("at", "At", kind="datetime")]
    stamps = pd.Series(pd.to_datetime(["2024-06-01 10:30"])).dt.tz_localize("Europe/Berlin")
    data, _ = xlsx_bytes([pd.DataFrame({"at": stamps})], columns)
    (sheet,) = open_sheets(data)
    assert sheet["A2"].value == dt.datetime(2024, 6, 1, 10, 30)


# --- more rows than one sheet holds --------------------------------------------------------


@pytest.fixture
def three_rows_per_sheet(monkeypatch):
    monkeypatch.setattr(export, "_rows_per_sheet", 3)


def test_rows_beyond_one_sheet_continue_on_numbered_sheets(three_rows_per_sheet):
    chunks = [rows_frame(0, 3), rows_frame(3, 2), rows_frame(5, 2)]
    data, count = xlsx_bytes(iter(chunks))
    sheets = open_sheets(data)
    assert count == 7
    assert [sheet.title for sheet in sheets] == ["Export", "Export (2)", "Export (3)"]
    assert [sheet.max_row - 1 for sheet in sheets] == [3, 3, 1]
    names = [row[0] for sheet in sheets for row in values(sheet)[1:]]
    assert names == [f"Lead {n}" for n in range(7)]
    for sheet in sheets:
        assert values(sheet)[0] == HEADERS
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:E{sheet.max_row}"
        assert sheet["E2"].is_date


def test_one_chunk_larger_than_a_sheet_is_split_too(three_rows_per_sheet):
    data, count = xlsx_bytes([rows_frame(0, 7)], sheet_name="Leads")
    sheets = open_sheets(data)
    assert count == 7
    assert [sheet.title for sheet in sheets] == ["Leads", "Leads (2)", "Leads (3)"]
    assert [sheet.max_row - 1 for sheet in sheets] == [3, 3, 1]


def test_rows_that_fill_sheets_exactly_leave_no_empty_sheet(three_rows_per_sheet):
    data, count = xlsx_bytes([rows_frame(0, 2), rows_frame(2, 4)])
    assert count == 6
    assert [sheet.max_row for sheet in open_sheets(data)] == [4, 4]


def test_a_long_sheet_name_still_fits_with_its_number(three_rows_per_sheet):
    data, _ = xlsx_bytes([rows_frame(0, 4)], sheet_name="Contacts: all of them / 2025 [full]")
    titles = [sheet.title for sheet in open_sheets(data)]
    assert all(len(title) <= 31 for title in titles)
    assert titles[1].endswith(" (2)")


# --- targets and edge cases ----------------------------------------------------------------


def test_nothing_to_export_gives_a_file_with_just_the_header():
    data, count = xlsx_bytes(iter([]))
    (sheet,) = open_sheets(data)
    assert count == 0
    assert values(sheet) == [HEADERS]
    assert sheet.freeze_panes == "A2"


def test_empty_chunks_are_skipped():
    empty = leads_frame().iloc[0:0]
    data, count = xlsx_bytes([empty, leads_frame(), empty])
    assert count == 4
    assert open_sheets(data)[0].max_row == 5


def test_a_file_path_is_a_target_too(tmp_path):
    path = tmp_path / "leads.xlsx"
    assert write_xlsx(path, COLUMNS, [leads_frame()]) == 4
    assert write_xlsx(str(tmp_path / "again.xlsx"), COLUMNS, [leads_frame()]) == 4
    assert load_workbook(path).active["A2"].value == "Anna Berg"


def test_chunks_are_read_lazily_one_at_a_time():
    seen = []

    def chunks() -> Iterator[pd.DataFrame]:
        for start in (0, 2, 4):
            seen.append(start)
            yield rows_frame(start, 2)

    _, count = xlsx_bytes(chunks())
    assert count == 6 and seen == [0, 2, 4]


def test_a_chunk_without_a_declared_column_is_refused():
    with pytest.raises(KeyError, match="visits"):
        xlsx_bytes([leads_frame().drop(columns=["visits"])])


def test_an_unknown_column_kind_is_refused():
    with pytest.raises(ValueError, match="money"):
        ExportColumn("price", "Price", kind="money")


# --- CSV --------------------------------------------------------------------------------------


def csv_bytes(chunks, columns=COLUMNS) -> tuple[bytes, int]:
    buffer = io.BytesIO()
    count = write_csv(buffer, columns, chunks)
    return buffer.getvalue(), count


def test_csv_starts_with_the_utf8_byte_order_mark_and_a_header_row():
    data, count = csv_bytes([leads_frame()])
    assert count == 4
    assert data.startswith(b"\xef\xbb\xbf")
    header = data[3:].decode("utf-8").splitlines()[0]
    assert header == '"Name","VIP","Visits","Birthday","Date added"'


def test_csv_round_trips_through_pandas_with_neutralised_text():
    data, _ = csv_bytes([leads_frame(), rows_frame(0, 1)])
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(frame.columns) == HEADERS
    assert frame.iloc[:5].to_dict("records") == [
        {"Name": "Anna Berg", "VIP": "Yes", "Visits": "3", "Birthday": "1990-05-17",
         "Date added": "2024-03-01 09:15"},
        {"Name": "'=1+1", "VIP": "No", "Visits": "", "Birthday": "",
         "Date added": "2024-03-02 17:45"},
        {"Name": "", "VIP": "", "Visits": "0", "Birthday": "2001-01-02", "Date added": ""},
        {"Name": "Chloé Dupont", "VIP": "", "Visits": "12", "Birthday": "",
         "Date added": "2025-12-31 23:59"},
        {"Name": "Lead 0", "VIP": "Yes", "Visits": "0", "Birthday": "2000-01-01",
         "Date added": "2024-01-01 08:30"},
    ]


def test_csv_neutralises_every_formula_looking_value_and_keeps_awkward_text_intact():
    awkward = 'comma, "quotes" and a\nline break'
    columns, chunks = text_column([*FORMULAS, awkward])
    data, _ = csv_bytes(chunks, columns)
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert frame["Text"].tolist() == ["'" + text for text in FORMULAS] + [awkward]


def test_csv_of_nothing_is_just_the_header(tmp_path):
    path = tmp_path / "empty.csv"
    assert write_csv(path, COLUMNS, iter([])) == 0
    assert path.read_bytes() == b'\xef\xbb\xbf"Name","VIP","Visits","Birthday","Date added"\n'


def test_a_failed_csv_export_leaves_no_half_written_file(tmp_path):
    path = tmp_path / "broken.csv"

    def chunks() -> Iterator[pd.DataFrame]:
        yield leads_frame()
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        write_csv(path, COLUMNS, chunks())
    assert not path.exists()


# --- the neutralising rule itself --------------------------------------------------------


@pytest.mark.parametrize("text", FORMULAS)
def test_neutralise_prefixes_an_apostrophe_to_formula_looking_text(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", HARMLESS)
def test_neutralise_leaves_other_text_unchanged(text):
    assert neutralise(text) == text


def test_the_vectorised_rule_agrees_with_neutralise():
    every_space = [space + start for space in export._SPACE for start in ("=1", "x")]
    samples = [*FORMULAS, *HARMLESS, *every_space, "\u200b=1", " \t x", "=", "  "]
    columns, chunks = text_column(samples)
    data, _ = csv_bytes(chunks, columns)
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert frame["Text"].tolist() == [neutralise(text) for text in samples]
